"""Production mode, demo credentials, JWTs from an identity provider."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.demo import DemoCredentialsInProduction
from tests import support

OFFERINGS = "{ productOfferings { key } }"
INTROSPECT = "{ __schema { queryType { name } } }"


def _client(tmp_path, **settings):
    runtime = support.build_runtime(
        f"sqlite:///{tmp_path / 'sec.db'}", embedded_workers=False, demo_tokens_file=str(tmp_path / "demo.json"), **settings
    )
    return runtime, TestClient(create_app(runtime=runtime))


def test_demo_mode_writes_tokens_for_every_role_marked_demo(tmp_path):
    runtime, client = _client(tmp_path)
    with client:
        saved = json.loads((tmp_path / "demo.json").read_text())
        assert "DEMO" in saved["warning"]
        assert {"order_agent", "order_fulfillment_agent", "viewer", "service_account", "customer"} <= set(saved["tokens"])
        response = client.post(
            "/graphql", headers={"Authorization": f"Bearer {saved['tokens']['viewer']}"}, json={"query": OFFERINGS}
        )
        assert response.status_code == 200 and response.json()["data"]["productOfferings"]
        assert all(row.demo for row in runtime.tokens.list())
        # introspection and GraphiQL are on in demo mode
        body = client.post(
            "/graphql", headers={"Authorization": f"Bearer {saved['tokens']['viewer']}"}, json={"query": INTROSPECT}
        ).json()
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"
        assert "graphiql" in client.get("/graphql", headers={"Accept": "text/html"}).text.lower()


def test_production_refuses_to_start_with_demo_credentials(tmp_path):
    runtime, client = _client(tmp_path)
    with client:
        pass  # demo mode issued demo tokens into this database
    runtime, client = _client(tmp_path, mode="production")
    with pytest.raises(DemoCredentialsInProduction, match="demo tokens are active"), client:
        pass
    runtime.stop()


def test_production_hardening(tmp_path):
    runtime, client = _client(tmp_path, mode="production")
    with client:
        assert not (tmp_path / "demo.json").exists()
        headers = support.bearer(runtime, "viewer")
        ok = client.post("/graphql", headers=headers, json={"query": OFFERINGS})
        assert ok.status_code == 200
        body = client.post("/graphql", headers=headers, json={"query": INTROSPECT}).json()
        assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED" and body.get("data") is None
        assert client.get("/graphql", headers={"Accept": "text/html"}).status_code == 404  # no GraphiQL
        get_query = client.get("/graphql", params={"query": OFFERINGS}, headers=headers)
        assert get_query.status_code in (400, 405)  # no operations over GET at all
        get_mutation = client.get(
            "/graphql", params={"query": 'mutation { orderSubmit(input: {id: "x"}) { errors { code } } }'}, headers=headers
        )
        assert get_mutation.status_code in (400, 405)
        form = client.post(
            "/graphql", headers={**headers, "Content-Type": "text/plain"}, content=json.dumps({"query": OFFERINGS})
        )
        assert form.status_code in (400, 415)
        batch = client.post("/graphql", headers=headers, json=[{"query": OFFERINGS}, {"query": OFFERINGS}])
        assert batch.status_code == 400


def test_production_warns_when_metrics_are_open_and_a_token_closes_them(tmp_path, caplog):
    runtime, client = _client(tmp_path, mode="production")
    assert any("OM_GRAPH_METRICS_TOKEN" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    runtime.stop()
    caplog.clear()
    runtime, client = _client(tmp_path, mode="production", metrics_token="s3cret")
    assert not any("OM_GRAPH_METRICS_TOKEN" in r.getMessage() for r in caplog.records)
    with client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_demo_mode_never_accepts_mutations_over_get(tmp_path):
    runtime, client = _client(tmp_path)
    with client:
        headers = support.bearer(runtime, "order_agent")
        response = client.get(
            "/graphql", params={"query": 'mutation { orderSubmit(input: {id: "x"}) { errors { code } } }'}, headers=headers
        )
        assert response.status_code in (400, 405)


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    """A fake identity provider: an RSA key pair; the public key as a JWKS file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    jwk["kid"] = "idp-1"
    path = tmp_path_factory.mktemp("idp") / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    def sign(claims: dict, kid: str = "idp-1", signing_key=pem) -> str:
        base = {"iss": "https://sso.example.test", "aud": "om-graph", "sub": "alice", "exp": int(time.time()) + 300}
        return jwt.encode({**base, **claims}, signing_key, algorithm="RS256", headers={"kid": kid})

    return str(path), sign


def test_jwt_from_the_identity_provider(tmp_path, idp):
    jwks, sign = idp
    runtime, client = _client(tmp_path, jwt_issuer="https://sso.example.test", jwt_audience="om-graph", jwt_keys=jwks)
    with client:

        def post(token, query=OFFERINGS):
            return client.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={"query": query})

        assert post(sign({"roles": ["order_agent"]})).status_code == 200
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        for bad in (
            sign({"roles": ["order_agent"], "aud": "someone-else"}),
            sign({"roles": ["order_agent"], "iss": "https://evil.example.test"}),
            sign({"roles": ["order_agent"], "exp": int(time.time()) - 3600}),
            sign({"roles": ["order_agent"]}, signing_key=other_key),
            sign({"roles": ["wizard"]}),
        ):
            assert post(bad).status_code == 401
        # A portal user: the account claim confines them to their account, whatever roles they claim.
        portal = sign({"roles": ["customer", "order_manager"], "account_id": "ACME", "sub": "bob"})
        body = post(portal, '{ orders(customerId: "OTHER") { edges { node { id } } } }').json()
        assert body["data"]["orders"]["edges"] == []
        forbidden = post(portal, 'mutation { taskComplete(input: {id: "VGFzazox"}) { errors { code } } }').json()
        assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
