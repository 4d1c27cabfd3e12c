"""GraphQL over HTTP, the transport itself: untrusted request bodies and documents never reach a
5xx, the body limit holds whatever the framing (a real chunked body on a real socket), request
media types are parsed (only application/json), responses are negotiated by Accept with the
GraphQL over HTTP spec's status codes, and GraphiQL is served entirely from om-graph."""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
import time
from html.parser import HTMLParser

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.schema.limits import MAX_BODY_BYTES
from tests import support

GRAPHQL_RESPONSE = "application/graphql-response+json"
TYPENAME = {"query": "{ __typename }"}


def gid(type_name: str, key) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


@pytest.fixture
def client(make_runtime, database_url):
    runtime = make_runtime(database_url, embedded_workers=False)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as test_client:
        test_client.headers.update(support.bearer(runtime, "order_manager"))
        test_client.runtime = runtime
        yield test_client


@pytest.fixture
def sqlite_client(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, embedded_workers=False)
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as test_client:
        test_client.headers.update(support.bearer(runtime, "order_manager"))
        test_client.runtime = runtime
        yield test_client


class LiveServer:
    """The app under uvicorn in a thread, on a loopback port: real sockets, real HTTP framing."""

    def __init__(self, app):
        self.port = support.free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def live(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, embedded_workers=False)
    with LiveServer(create_app(runtime=runtime)) as server:
        server.headers = support.bearer(runtime, "order_manager")
        yield server


# ---------------------------------------------------------------------------------------------
# Untrusted documents and bodies: whatever arrives, the answer is never a 5xx.

ORDER = gid("Order", 1)
DEEP = "{" + 'order(id: "%s") {' % ORDER * 400 + "id" + "}" * 401
WIDE = "{" + " ".join(f'o{i}: order(id: "{ORDER}") {{ id }}' for i in range(3000)) + "}"

DOCUMENTS = [
    # the root field without its required argument (issue #9's 500), with an alias, twice
    {"query": "{ order { id } }"},
    {"query": "query { a: order { id } }"},
    {"query": '{ a: order { id } b: order(id: "%s") { id } }' % ORDER},
    # arguments: repeated, unknown, of the wrong kind
    {"query": '{ order(id: "%s", id: "%s") { id } }' % (ORDER, ORDER)},
    {"query": '{ order(id: "%s", nope: 1) { id } }' % ORDER},
    {"query": "{ order(nope: 1) { id } }"},
    {"query": "{ order(id: 5) { id } }"},
    {"query": "{ order(id: 5.5) { id } }"},
    {"query": "{ order(id: true) { id } }"},
    {"query": "{ order(id: null) { id } }"},
    {"query": '{ order(id: ["%s"]) { id } }' % ORDER},
    {"query": "{ order(id: {a: 1}) { id } }"},
    {"query": "{ order(id: ENUM) { id } }"},
    {"query": "{ order(id: $undeclared) { id } }"},
    # ids that are strings but not ours: other types, huge, negative, other scripts' digits, junk
    {"query": '{ order(id: "%s") { id } }' % gid("Order", 10**30)},
    {"query": '{ order(id: "%s") { id } }' % gid("Order", 2**63)},
    {"query": '{ order(id: "%s") { id } }' % gid("Order", -1)},
    {"query": '{ order(id: "%s") { id } }' % gid("Order", 0)},
    {"query": '{ order(id: "%s") { id } }' % gid("Order", "١٢")},
    {"query": '{ order(id: "%s") { id } }' % gid("Order", "1_000")},
    {"query": '{ order(id: "%s") { id } }' % gid("Product", 1)},
    {"query": '{ order(id: "not base64 at all") { id } }'},
    {"query": '{ order(id: "") { id } }'},
    # variables: of the wrong type, missing, lists, objects, deep nesting
    {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {"id": 5}},
    {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {"id": [ORDER]}},
    {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {"id": {"a": ORDER}}},
    {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {"id": None}},
    {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {}},
    {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {"id": gid("Order", 10**30)}},
    {"query": "query($id: [ID!]) { order(id: $id) { id } }", "variables": {"id": [ORDER]}},
    {"query": "query($id: Int) { order(id: $id) { id } }", "variables": {"id": 1}},
    {
        "query": "query($id: ID!) { order(id: $id) { id } }",
        "variables": {"id": ORDER, "extra": json.loads("[" * 900 + "]" * 900)},
    },
    # nested deeper than the interpreter's recursion limit: sent as raw JSON
    b'{"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {"id": "%s", "extra": %s}}'
    % (ORDER.encode(), b"[" * 3000 + b"]" * 3000),
    b'{"query": "query($id: JSON) { __typename }", "variables": {"id": %s}}' % (b"[" * 980 + b"]" * 980),
    {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": [ORDER]},
    {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": "id"},
    # fragments, directives, several operations, other operation types
    {"query": '{ ...F } fragment F on Query { order(id: "%s") { id } }' % ORDER},
    {"query": '{ ... on Query { order(id: "%s") { id } } }' % ORDER},
    {"query": '{ order(id: "%s") { ...F } } fragment F on Order { id ...F }' % ORDER},
    {"query": '{ order(id: "%s") @skip(if: true) { id } }' % ORDER},
    {"query": 'query($s: Boolean!) { order(id: "%s") @include(if: $s) { id } }' % ORDER, "variables": {"s": "yes"}},
    {"query": '{ order(id: "%s") @unknown { id } }' % ORDER},
    {"query": 'query A { order(id: "%s") { id } } query B { __typename }' % ORDER},
    {"query": 'query A { order(id: "%s") { id } } query A { __typename }' % ORDER, "operationName": "A"},
    {"query": 'query A { order(id: "%s") { id } }' % ORDER, "operationName": "B"},
    {"query": 'query A { order(id: "%s") { id } }' % ORDER, "operationName": 7},
    {"query": "subscription { orderEvents { id } }"},
    {"query": 'mutation { order(id: "%s") { id } }' % ORDER},
    {"query": "fragment F on Query { __typename }"},
    {"query": ""},
    {"query": "   "},
    {"query": "{"},
    {"query": None},
    {"query": 42},
    {"query": ["{ __typename }"]},
    {"notquery": "{ __typename }"},
    {"query": "{ __typename }", "extensions": "x"},
    {"query": '{ order(id: "%s") { id } }' % ORDER, "extensions": {"persistedQuery": {"version": 1}}},
    # huge and nested documents
    {"query": DEEP},
    {"query": WIDE},
    {"query": '{ order(id: "%s") { id } }' % ("A" * 500_000)},
    {"query": "{ orders(states: [" + "[" * 2000 + "]" * 2000 + "]) { edges { node { id } } } }"},
    {"query": '{ order(id: "%s") { id } }\n' % ORDER + "# comment\n" * 20_000},
]

RAW_BODIES = [
    b"null",
    b'"a string"',
    b"123",
    b"true",
    b"[]",
    b"[{}]",
    b"{}",
    b"",
    b"{" * 3000,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"query": "{ __typename }"',
    b"\xff\xfe\x00garbage",
    b'{"query": "\\ud800"}',
    b'{"query": "{ __typename }", "operationName": "\\ud800"}',
    b'{"query": "query($c: String) { orders(first: 1, customerId: $c) { edges { node { id } } } }", "variables": {"c": "a\\udc00"}}',
    b'{"query": "{ __typename }", "variables": {"n": ' + b"9" * 5000 + b"}}",
]


def _never_5xx(client, body: bytes, accept: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"} | ({"Accept": accept} if accept else {})
    response = client.post("/graphql", content=body, headers=headers)
    assert response.status_code < 500, (body[:200], response.status_code, response.text[:500])
    if response.status_code != 401:
        assert "errors" in response.json() or "data" in response.json()
    return response


def test_malformed_documents_never_answer_5xx(client, caplog):
    for accept in (None, GRAPHQL_RESPONSE):
        for document in DOCUMENTS:
            body = document if isinstance(document, bytes) else json.dumps(document).encode()
            first = _never_5xx(client, body, accept)
            again = _never_5xx(client, body, accept)  # the second time through the parsed-document cache
            assert again.status_code == first.status_code
    # ... and not because the endpoint's safety net caught the response cache tripping over one
    assert not [r for r in caplog.records if r.name == "om_graph.app" and r.levelname == "ERROR"]


def test_malformed_bodies_are_bad_requests(sqlite_client):
    for body in RAW_BODIES:
        response = _never_5xx(sqlite_client, body)
        assert response.status_code in (200, 400), (body[:50], response.text)


def test_the_missing_argument_is_a_validation_error(sqlite_client):
    body = sqlite_client.post("/graphql", json={"query": "{ order { id } }"}).json()
    assert "'Query.order(id:)'" in body["errors"][0]["message"] and "required" in body["errors"][0]["message"]
    response = sqlite_client.post("/graphql", json={"query": "{ order { id } }"}, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400 and "data" not in response.json()


def test_query_string_parameters_are_untrusted_too(sqlite_client):
    for params in (
        {"query": "{ order { id } }"},
        {"query": "{ __typename }", "variables": "[" * 5000},
        {"query": "{ __typename }", "variables": '"x"'},
        {"query": "{ __typename }", "extensions": "1"},
    ):
        response = sqlite_client.get("/graphql", params=params)
        assert response.status_code < 500, (params, response.text)


# ---------------------------------------------------------------------------------------------
# Request media types: application/json, parsed, nothing else.

CREATE = """mutation { orderCreate(input: {customerId: "ACME", lines: [{offering: "test-auto", quantity: 1,
  characteristics: [{name: "label", value: "x"}]}]}) { order { id } errors { code } } }"""
COUNT = "{ orders(first: 100) { edges { node { id } } } }"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json-patch+json",
        "application/jsonx",
        "application/json5",
        "text/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
        "application/json; charset=utf-16",
        "application/json; charset=latin-1",
        "json",
        "",
    ],
)
def test_other_request_media_types_are_refused_and_never_executed(sqlite_client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = sqlite_client.post("/graphql", content=json.dumps({"query": CREATE}), headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert sqlite_client.post("/graphql", json={"query": COUNT}).json()["data"]["orders"]["edges"] == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
    ],
)
def test_json_with_parameters_is_accepted(sqlite_client, content_type):
    response = sqlite_client.post("/graphql", content=json.dumps(TYPENAME), headers={"Content-Type": content_type})
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


# ---------------------------------------------------------------------------------------------
# Response media types (GraphQL over HTTP: Accept negotiation and status codes).


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", "application/json"),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, */*", "application/json"),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE),
        ("text/html, */*;q=0.1", "application/json"),
    ],
)
def test_the_response_media_type_follows_accept(sqlite_client, accept, expected):
    headers = {"Accept": accept} if accept else {}
    response = sqlite_client.post("/graphql", json=TYPENAME, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == expected
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/*", f"{GRAPHQL_RESPONSE};q=0, application/json;q=0"])
def test_an_unacceptable_accept_is_406(sqlite_client, accept):
    response = sqlite_client.post("/graphql", json=TYPENAME, headers={"Accept": accept})
    assert response.status_code == 406 and response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    "request_body",
    [
        {"query": "{"},  # parse error
        {"query": "{ noSuchField }"},  # validation error
        {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {"id": None}},  # variable coercion
    ],
)
def test_request_errors_are_400_without_data_in_graphql_response_json(sqlite_client, request_body):
    modern = sqlite_client.post("/graphql", json=request_body, headers={"Accept": GRAPHQL_RESPONSE})
    assert modern.status_code == 400 and modern.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in modern.json() and modern.json()["errors"]
    legacy = sqlite_client.post("/graphql", json=request_body, headers={"Accept": "application/json"})
    assert legacy.status_code == 200 and legacy.json()["data"] is None and legacy.json()["errors"]


def test_field_errors_stay_200_with_data_in_graphql_response_json(sqlite_client):
    response = sqlite_client.post(
        "/graphql", json={"query": '{ order(id: "nonsense") { id } }'}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200, response.text
    assert "data" in response.json() and response.json()["errors"]


def test_transport_errors_use_the_negotiated_type(sqlite_client):
    response = sqlite_client.post(
        "/graphql", content=b"{", headers={"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400 and response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_cached_order_reads_keep_each_media_type(sqlite_client):
    created = sqlite_client.post("/graphql", json={"query": CREATE}).json()["data"]["orderCreate"]["order"]["id"]
    read = {"query": "query($id: ID!) { order(id: $id) { id state } }", "variables": {"id": created}}
    for _ in range(2):
        for accept in ("application/json", GRAPHQL_RESPONSE, "application/json"):
            response = sqlite_client.post("/graphql", json=read, headers={"Accept": accept})
            assert response.status_code == 200 and response.headers["content-type"] == accept
            assert response.json()["data"]["order"]["id"] == created


def test_unauthenticated_is_still_401_first(sqlite_client):
    response = sqlite_client.post("/graphql", content=b"x", headers={"Authorization": "", "Content-Type": "text/plain"})
    assert response.status_code == 401


# ---------------------------------------------------------------------------------------------
# The body limit, on a real socket.


def _request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), None
    )
    while length is not None and len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, body


def _send_chunked(port: int, headers: dict[str, str], total: int, chunk_size: int = 64 * 1024) -> tuple[int, bytes, int]:
    """Streams a chunked body of up to ``total`` bytes, stopping as soon as the server answers.
    Returns the status, the response body and how many body bytes were sent by then."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_request_head("/graphql", {**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
        chunk = b" " * chunk_size
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, body = _read_response(sock)
    return status, body, sent


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(live):
    status, body, sent = _send_chunked(live.port, live.headers, total=40_000_000)
    assert status == 413, body
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    # The answer came while the client was still sending: the server stopped reading near the limit.
    assert sent < 8 * MAX_BODY_BYTES, sent


def test_a_chunked_body_within_the_limit_is_served(live):
    query = "{ __typename }" + " " * 300_000

    def chunks():
        payload = json.dumps({"query": query}).encode()
        for i in range(0, len(payload), 10_000):
            yield payload[i : i + 10_000]

    response = httpx.post(
        f"http://127.0.0.1:{live.port}/graphql",
        content=chunks(),
        headers={**live.headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


def test_a_chunked_body_streamed_with_httpx_over_the_limit_is_413(live):
    def chunks():
        for _ in range(40):
            yield b" " * 1_000_000

    try:
        response = httpx.post(
            f"http://127.0.0.1:{live.port}/graphql",
            content=chunks(),
            headers={**live.headers, "Content-Type": "application/json"},
            timeout=30,
        )
    except httpx.TransportError:
        pytest.skip("the connection closed before httpx read the answer (the raw-socket test checks the status)")
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/graphql", "/health", "/no-such-route"])
def test_a_declared_length_over_the_limit_is_refused_on_every_route_before_the_body(live, path):
    with socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(
            _request_head(path, {**live.headers, "Content-Type": "application/json", "Content-Length": str(MAX_BODY_BYTES + 1)})
        )
        status, _ = _read_response(sock)  # nothing of the body was sent
    assert status == 413


# ---------------------------------------------------------------------------------------------
# GraphiQL from the package, no CDN.


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append((tag, value))


def test_graphiql_is_served_from_om_graph_itself(sqlite_client):
    page = sqlite_client.get("/graphql", headers={"Accept": "text/html", "Authorization": ""})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    references = _References()
    references.feed(page.text)
    assets = [(tag, url) for tag, url in references.urls if not url.startswith("data:")]
    assert {tag for tag, _ in assets} == {"script", "link"} and len(assets) >= 6
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    expected = {"script": "javascript", "link": "text/css"}
    for tag, url in assets:
        assert url.startswith("/") and not url.startswith("//") and "://" not in url, url
        asset = sqlite_client.get(url, headers={"Authorization": ""})
        assert asset.status_code == 200, url
        assert expected[tag] in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 500


def test_graphiql_assets_are_not_served_in_production(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url, embedded_workers=False, mode="production")
    with TestClient(create_app(runtime=runtime)) as production:
        assert production.get("/graphql", headers={"Accept": "text/html"}).status_code == 404
        assert production.get("/graphiql-assets/graphiql.min.js").status_code == 404


def test_om_graph_serve_holds_websocket_messages_to_the_body_limit(tmp_path):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    env = support.base_env(tmp_path, OM_GRAPH_DATABASE_URL=f"sqlite:///{tmp_path / 'ws.db'}", OM_GRAPH_EMBEDDED_WORKERS="false")
    server, url = support.start_server(env, tmp_path)
    try:
        token = support.demo_tokens(tmp_path)["order_manager"]
        with connect(url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            query = "subscription { orderEvents { id } } # " + "x" * MAX_BODY_BYTES
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        server.kill()
