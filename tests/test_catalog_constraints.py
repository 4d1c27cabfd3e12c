"""Catalog constraints a front-end can see: per-offering narrowing of a specification's
characteristics and constraints between characteristics, shown by productOfferings, checked at
capture (create, update, modify lines) and on enrichment output, refused at startup when they
widen what the specification allows."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.catalog.constraints import CharacteristicConstraint, CharacteristicRules, DependentConstraint, When
from om_graph.core.catalog.definitions import CatalogContribution, CharacteristicDef, OfferingDef, SpecificationDef
from om_graph.core.catalog.extensions import EnrichmentStep
from om_graph.core.catalog.registry import Registry
from om_graph.core.kernel.errors import PluginConfigurationError
from om_graph.core.kernel.models import EventRecord
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.validation import check_characteristics
from om_graph.plugins import hookimpl
from tests import support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id version state } errors { field message code } }
}"""
UPDATE = """
mutation($input: OrderUpdateInput!) {
  orderUpdate(input: $input) { order { id version } errors { field message code } }
}"""
ORDER = "query($id: ID!) { order(id: $id) { state products { id } events { type payload } } }"
OFFERINGS = """
{ productOfferings {
    key
    productSpecification { characteristics { name minValue maxValue allowedValues } }
    characteristics {
      name valueType required default allowedValues minValue maxValue pattern maxLength
      constraints { description when { characteristic values } then { allowedValues minValue maxValue pattern required } }
    }
} }"""


def _chars(**values) -> list[dict]:
    return [{"name": k, "value": v} for k, v in values.items()]


def _line(offering: str, quantity: int = 1, **values) -> dict:
    return {"offering": offering, "quantity": quantity, "characteristics": _chars(**values)}


FIBRE = {"installationAddress": "Kerkstraat 12, 1017 GL Amsterdam"}
SAAS = {"companyName": "Globex"}
APPLIANCE = {"shippingAddress": "Herengracht 1, 1015 BA", "country": "NL", "siteContactName": "Jan"}
SDWAN = {"siteName": "Utrecht", "siteAddress": "Stationsplein 1", "bandwidth": 200}


@pytest.fixture
def client(make_runtime, database_url):
    """The shipped packs (tsm, tpsm) and the embedded workers, as a user of the demo gets them."""
    runtime = make_runtime(database_url, extra_plugins=(), load_entrypoints=True)
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as c:
        c.runtime = runtime
        yield c


def gql(client, query, variables=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body
    return body["data"]


def counts(runtime) -> tuple[int, ...]:
    with runtime.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Order, OrderLine, EventRecord))


def create_errors(client, *lines) -> list[tuple[str, str]]:
    before = counts(client.runtime)
    result = gql(client, CREATE, {"input": {"customerId": "ACME", "lines": list(lines)}})["orderCreate"]
    if result["errors"]:
        assert result["order"] is None and counts(client.runtime) == before  # nothing written
    return [(e["field"], e["code"]) for e in result["errors"]]


# -- the three examples fail at orderCreate -------------------------------------------------


def test_a_fibre_offering_accepts_only_its_own_tier(client):
    assert create_errors(client, _line("fibre-broadband-500", bandwidth=1000, **FIBRE)) == [
        ("lines.0.characteristics.bandwidth", "VALUE_NOT_ALLOWED")
    ]
    assert create_errors(client, _line("fibre-broadband-1000", bandwidth=500, **FIBRE)) == [
        ("lines.0.characteristics.bandwidth", "VALUE_NOT_ALLOWED")
    ]
    assert create_errors(client, _line("fibre-broadband-1000", installationAddress="Kerkstraat")) == [
        ("lines.0.characteristics.installationAddress", "PATTERN_MISMATCH")
    ]
    # The offering's own default: the tier need not be given.
    assert create_errors(client, _line("fibre-broadband-1000", **FIBRE)) == []


@pytest.mark.parametrize(
    ("offering", "seats", "ok"),
    [
        ("saas-analytics-starter", 25, True),
        ("saas-analytics-starter", 26, False),
        ("saas-analytics-pro", 4, False),
        ("saas-analytics-pro", 5, True),
        ("saas-analytics-pro", 1000, True),
        ("saas-analytics-pro", 1001, False),
        ("saas-analytics-enterprise", 99, False),
        ("saas-analytics-enterprise", 10000, True),
    ],
)
def test_each_saas_edition_sells_its_own_seat_range(client, offering, seats, ok):
    errors = create_errors(client, _line(offering, seats=seats, **SAAS))
    assert errors == ([] if ok else [("lines.0.characteristics.seats", "OUT_OF_RANGE")])


def test_sso_only_on_editions_that_have_it(client):
    assert create_errors(client, _line("saas-analytics-starter", seats=10, ssoRequired=True, **SAAS)) == [
        ("lines.0.characteristics.ssoRequired", "VALUE_NOT_ALLOWED")
    ]
    assert create_errors(client, _line("saas-analytics-pro", seats=10, ssoRequired=True, **SAAS)) == []


def test_a_device_ships_only_to_the_countries_listed(client):
    assert create_errors(client, _line("edge-appliance", **{**APPLIANCE, "country": "KP"})) == [
        ("lines.0.characteristics.country", "VALUE_NOT_ALLOWED")
    ]
    assert create_errors(client, _line("edge-appliance", **{**APPLIANCE, "shippingAddress": "Herengracht"})) == [
        ("lines.0.characteristics.shippingAddress", "PATTERN_MISMATCH")
    ]
    assert create_errors(client, _line("edge-appliance-rugged", **{**APPLIANCE, "country": "SG"})) == []


def test_constraints_between_characteristics(client):
    # An HA pair needs two links (wanLinks defaults to 1); a hub must be an HA pair.
    errors = create_errors(client, _line("sdwan-site", haPair=True, **SDWAN))
    assert errors == [("lines.0.characteristics.wanLinks", "OUT_OF_RANGE")]
    assert create_errors(client, _line("sdwan-site", siteRole="hub", wanLinks=2, **SDWAN)) == [
        ("lines.0.characteristics.haPair", "VALUE_NOT_ALLOWED")
    ]
    assert create_errors(client, _line("sdwan-site", siteRole="hub", haPair=True, wanLinks=2, **SDWAN)) == []
    # A port-in names its number and donor, and the number looks like one.
    assert sorted(create_errors(client, _line("mobile-plan-20gb", portIn=True))) == [
        ("lines.0.characteristics.donorOperator", "REQUIRED"),
        ("lines.0.characteristics.portInNumber", "REQUIRED"),
    ]
    assert create_errors(client, _line("mobile-plan-20gb", portIn=True, portInNumber="call me", donorOperator="KPN")) == [
        ("lines.0.characteristics.portInNumber", "PATTERN_MISMATCH")
    ]
    assert create_errors(client, _line("mobile-plan-20gb", portIn=False)) == []


def test_the_message_says_which_condition_applies(client):
    result = gql(client, CREATE, {"input": {"customerId": "ACME", "lines": [_line("sdwan-site", haPair=True, **SDWAN)]}})
    [error] = result["orderCreate"]["errors"]
    assert error["message"] == "must be at least 2 when haPair is True"


def test_order_update_checks_the_same_constraints(client):
    created = gql(client, CREATE, {"input": {"customerId": "ACME", "lines": [_line("saas-analytics-pro", seats=10, **SAAS)]}})
    order = created["orderCreate"]["order"]
    before = counts(client.runtime)
    update = {"id": order["id"], "version": order["version"], "lines": [_line("saas-analytics-starter", seats=30, **SAAS)]}
    result = gql(client, UPDATE, {"input": update})["orderUpdate"]
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("lines.0.characteristics.seats", "OUT_OF_RANGE")]
    assert counts(client.runtime) == before


def test_a_modify_line_is_checked_against_its_products_offering(client):
    created = gql(
        client,
        CREATE,
        {
            "input": {
                "customerId": "ACME",
                "lines": [_line("saas-analytics-starter", seats=10, **SAAS)],
                "requestedInitialState": "ACKNOWLEDGED",
            }
        },
    )
    order_id = created["orderCreate"]["order"]["id"]
    support.wait_for(lambda: gql(client, ORDER, {"id": order_id})["order"]["state"] == "COMPLETED", 60, message="completed")
    [product] = gql(client, ORDER, {"id": order_id})["order"]["products"]
    product_id = product["id"]
    modify = {"action": "MODIFY", "productId": product_id, "characteristics": _chars(seats=40)}
    assert create_errors(client, modify) == [("lines.0.characteristics.seats", "OUT_OF_RANGE")]
    # A value the product got before today's rules (here: 30 seats on a starter, as if the range
    # had narrowed since) is not the modify line's to fix, unless the line gives it.
    from om_graph.core.inventory.models import Product
    from om_graph.core.kernel.ids import key_number

    with client.runtime.sessions.begin() as s:
        row = s.get(Product, key_number(base64.b64decode(product_id).decode().split(":")[1]))
        row.characteristics = {**row.characteristics, "seats": 30}
    assert create_errors(client, {**modify, "characteristics": _chars(seats=30)}) == [
        ("lines.0.characteristics.seats", "OUT_OF_RANGE")
    ]
    assert create_errors(client, {**modify, "characteristics": _chars(companyName="Globex Ltd")}) == []


# -- productOfferings shows them ----------------------------------------------------------------------


def test_product_offerings_show_what_each_offering_accepts(client):
    offerings = {o["key"]: o for o in gql(client, OFFERINGS)["productOfferings"]}

    def char(offering, name):
        return next(c for c in offerings[offering]["characteristics"] if c["name"] == name)

    assert char("fibre-broadband-500", "bandwidth") | {"constraints": None} == {
        "name": "bandwidth",
        "valueType": "integer",
        "required": True,
        "default": 500,
        "allowedValues": [500],
        "minValue": None,
        "maxValue": None,
        "pattern": None,
        "maxLength": None,
        "constraints": None,
    }
    assert char("fibre-broadband-1000", "bandwidth")["allowedValues"] == [1000]
    assert char("fibre-broadband-1000", "installationAddress")["pattern"] == r"[\s\S]*[0-9][\s\S]*"
    for key, (low, high) in {
        "saas-analytics-starter": (1, 25),
        "saas-analytics-pro": (5, 1000),
        "saas-analytics-enterprise": (100, 10000),
    }.items():
        assert (char(key, "seats")["minValue"], char(key, "seats")["maxValue"]) == (low, high)
        spec_seats = next(c for c in offerings[key]["productSpecification"]["characteristics"] if c["name"] == "seats")
        assert (spec_seats["minValue"], spec_seats["maxValue"]) == (1, 10000)  # the specification's, unchanged
    assert char("saas-analytics-starter", "ssoRequired")["allowedValues"] == [False]
    assert char("saas-analytics-pro", "ssoRequired")["allowedValues"] is None
    countries = char("edge-appliance", "country")["allowedValues"]
    assert {"NL", "DE", "US", "SG", "GB"} <= set(countries) and "KP" not in countries
    assert char("sdwan-site", "wanLinks")["constraints"] == [
        {
            "description": "An HA pair needs at least 2 WAN links (one per edge device).",
            "when": [{"characteristic": "haPair", "values": [True]}],
            "then": {"allowedValues": None, "minValue": 2.0, "maxValue": None, "pattern": None, "required": None},
        }
    ]
    assert char("sdwan-site", "haPair")["constraints"][0]["when"] == [
        {"characteristic": "siteRole", "values": ["hub", "datacenter"]}
    ]
    assert [c["then"]["required"] for c in char("mobile-plan-20gb", "portInNumber")["constraints"]] == [True]


def test_a_customer_sees_the_same_constraints(client):
    customer = TestClient(client.app, headers=support.bearer(client.runtime, "customer", account="ACME"))
    staff_view = gql(client, OFFERINGS)["productOfferings"]
    assert gql(customer, OFFERINGS)["productOfferings"] == staff_view


# -- enrichment output is checked the same way -------------------------------------------------------

OFFERING = "constrained-widget"


class _EnrichingPack:
    """An offering narrowed to colour red, and an enrichment step that sets blue."""

    VALUE = "blue"

    @hookimpl
    def om_register_catalog(self):
        spec = SpecificationDef(
            "cw.widget",
            "product",
            "Widget",
            characteristics=(
                CharacteristicDef("colour", "string", allowed_values=("red", "blue")),
                CharacteristicDef("size", "integer", default=1),
            ),
        )
        offering = OfferingDef(
            OFFERING,
            "Red widget",
            "cw.widget",
            Decimal("1"),
            characteristics=(CharacteristicConstraint("colour", allowed_values=("red",)),),
        )
        return CatalogContribution(pack="cw", specifications=(spec,), offerings=(offering,))

    @hookimpl
    def om_register_enrichment_steps(self):
        return [EnrichmentStep("cw.paint", lambda line: {"colour": self.VALUE})]


def test_enrichment_output_is_checked_against_the_offerings_constraints(make_runtime, database_url):
    runtime = make_runtime(database_url, extra_plugins=(_EnrichingPack(),))
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as c:
        created = gql(
            c,
            CREATE,
            {"input": {"customerId": "ACME", "lines": [{"offering": OFFERING}], "requestedInitialState": "ACKNOWLEDGED"}},
        )
        order_id = created["orderCreate"]["order"]["id"]
        support.wait_for(lambda: gql(c, ORDER, {"id": order_id})["order"]["state"] == "REJECTED", 30, message="rejected")
        [error] = [e for e in gql(c, ORDER, {"id": order_id})["order"]["events"] if e["type"] == "ProductOrderErrorMessageEvent"]
        assert error["payload"]["reason"] == "processingFailed"
        assert [(e["field"], e["code"]) for e in error["payload"]["errors"]] == [
            ("lines.0.characteristics.colour", "VALUE_NOT_ALLOWED")
        ]


# -- the registry refuses constraints that widen ------------------------------------------------------

_SPEC = SpecificationDef(
    "w.spec",
    "product",
    "Widget",
    characteristics=(
        CharacteristicDef("speed", "integer", allowed_values=(100, 1000)),
        CharacteristicDef("seats", "integer", min_value=1, max_value=100),
        CharacteristicDef("name", "string", max_length=50),
        CharacteristicDef("tier", "string", allowed_values=("basic", "business")),
        CharacteristicDef("flag", "boolean", default=False),
    ),
)


def _registry(*constraints, dependent=(), spec=_SPEC) -> Registry:
    offering = OfferingDef("w-offer", "Widget offer", spec.key, characteristics=tuple(constraints), constraints=dependent)
    return Registry(catalogs=[CatalogContribution(pack="widgets", specifications=(spec,), offerings=(offering,))])


@pytest.mark.parametrize(
    ("constraints", "dependent", "says"),
    [
        ((CharacteristicConstraint("speed", allowed_values=(100, 300)),), (), "allowed value 300 widens"),
        ((CharacteristicConstraint("speed", allowed_values=("fast",)),), (), "'fast' is not a integer"),
        ((CharacteristicConstraint("speed", allowed_values=()),), (), "allowedValues is empty"),
        ((CharacteristicConstraint("seats", min_value=0),), (), "minValue 0 is outside"),
        ((CharacteristicConstraint("seats", max_value=101),), (), "maxValue 101 is outside"),
        ((CharacteristicConstraint("seats", min_value=50, max_value=10),), (), "above maxValue"),
        ((CharacteristicConstraint("name", max_length=51),), (), "maxLength 51 is outside"),
        ((CharacteristicConstraint("name", pattern="[a-z"),), (), "does not compile"),
        ((CharacteristicConstraint("seats", pattern="[0-9]+"),), (), "strings only"),
        ((CharacteristicConstraint("colour", allowed_values=("red",)),), (), "has no such characteristic"),
        ((CharacteristicConstraint("speed", allowed_values=(100,), default=1000),), (), "default 1000"),
        ((), (DependentConstraint((When("tier", ("business",)),), CharacteristicConstraint("speed", min_value=50)),), None),
        ((), (DependentConstraint((When("tier", ("business",)),), CharacteristicConstraint("seats", max_value=500)),), "outside"),
        ((), (DependentConstraint((When("colour", ("red",)),), CharacteristicConstraint("seats", max_value=5)),), "unknown"),
        ((), (DependentConstraint((When("tier", (1,)),), CharacteristicConstraint("seats", max_value=5)),), "not a string"),
        ((), (DependentConstraint((), CharacteristicConstraint("seats", max_value=5)),), "at least one condition"),
        ((), (DependentConstraint((When("flag", (True,)),), CharacteristicConstraint("size", max_value=5)),), "unknown"),
    ],
)
def test_the_registry_refuses_a_constraint_that_widens(constraints, dependent, says):
    if says is None:  # a dependent constraint on an integer with allowed values: minValue narrows it
        assert _registry(*constraints, dependent=dependent).rules_for("w-offer")
        return
    with pytest.raises(PluginConfigurationError) as refused:
        _registry(*constraints, dependent=dependent)
    message = str(refused.value)
    assert "pack 'widgets': offering 'w-offer'" in message and says in message
    named = constraints[0].name if constraints else dependent[0].then.name
    assert repr(named) in message


def test_a_specifications_own_pattern_and_default_are_checked():
    bad_pattern = SpecificationDef("w.spec", "product", "W", characteristics=(CharacteristicDef("code", pattern="(unclosed"),))
    with pytest.raises(PluginConfigurationError, match=r"pack 'widgets': specification 'w.spec': characteristic 'code'"):
        _registry(spec=bad_pattern)
    bad_default = SpecificationDef(
        "w.spec", "product", "W", characteristics=(CharacteristicDef("code", default="abc", pattern="[0-9]+"),)
    )
    with pytest.raises(PluginConfigurationError, match="default 'abc'"):
        _registry(spec=bad_default)


def test_an_offering_that_narrows_away_the_specifications_default_must_give_its_own():
    spec = SpecificationDef(
        "w.spec", "product", "W", characteristics=(CharacteristicDef("role", default="a", allowed_values=("a", "b")),)
    )
    with pytest.raises(PluginConfigurationError, match="default 'a'"):
        _registry(CharacteristicConstraint("role", allowed_values=("b",)), spec=spec)
    assert _registry(CharacteristicConstraint("role", allowed_values=("b",), default="b"), spec=spec).rules_for("w-offer")


# -- properties -------------------------------------------------------------------------------------------

_values = st.integers(min_value=-5, max_value=120)


@settings(max_examples=200, deadline=None)
@given(
    allowed=st.none() | st.lists(st.sampled_from((100, 1000)), min_size=1, unique=True).map(tuple),
    low=st.none() | st.integers(min_value=-10, max_value=120),
    high=st.none() | st.integers(min_value=-10, max_value=120),
    value=_values,
)
def test_whatever_an_accepted_offering_accepts_its_specification_accepts(allowed, low, high, value):
    constraint = CharacteristicConstraint("seats", min_value=low, max_value=high)
    try:
        registry = _registry(constraint, CharacteristicConstraint("speed", allowed_values=allowed))
    except PluginConfigurationError:
        return  # refused at startup: it widened
    offer = registry.rules_for("w-offer")
    spec = CharacteristicRules.of_specification(_SPEC)
    for name in ("seats", "speed"):
        _, offer_errors = check_characteristics(offer, {name: value}, "c", apply_defaults=False)
        _, spec_errors = check_characteristics(spec, {name: value}, "c", apply_defaults=False)
        if not offer_errors:
            assert not spec_errors


@settings(max_examples=200, deadline=None)
@given(tier=st.sampled_from(("basic", "business", None)), speed=st.sampled_from((100, 1000, None)))
def test_a_dependent_constraint_applies_exactly_when_its_conditions_hold(tier, speed):
    registry = _registry(
        dependent=(
            DependentConstraint((When("tier", ("business",)),), CharacteristicConstraint("speed", allowed_values=(1000,))),
        )
    )
    given_values = {k: v for k, v in {"tier": tier, "speed": speed}.items() if v is not None}
    _, errors = check_characteristics(registry.rules_for("w-offer"), given_values, "c", apply_defaults=True)
    refused = tier == "business" and speed == 100
    assert [(e.field, e.code) for e in errors] == ([("c.speed", "VALUE_NOT_ALLOWED")] if refused else [])


def test_an_offerings_pattern_applies_with_its_specifications():
    spec = SpecificationDef("w.spec", "product", "W", characteristics=(CharacteristicDef("code", pattern="[0-9]+"),))
    rules = _registry(CharacteristicConstraint("code", pattern=".{2}"), spec=spec).rules_for("w-offer")
    assert [check_characteristics(rules, {"code": v}, "c", apply_defaults=False)[1] == [] for v in ("12", "1a", "123")] == [
        True,
        False,
        False,
    ]
    assert rules.by_name["code"].pattern == r"(?=(?:[0-9]+)(?![\s\S]))(?:.{2})"  # what productOfferings shows


def test_a_changed_condition_rechecks_the_values_already_held():
    """Enrichment adds values to a line: a dependent constraint whose condition they change is
    checked over the values the line already has, as capture would check them together."""
    rules = _registry(
        dependent=(
            DependentConstraint((When("tier", ("business",)),), CharacteristicConstraint("speed", allowed_values=(1000,))),
        )
    ).rules_for("w-offer")
    _, errors = check_characteristics(rules, {"tier": "business"}, "c", apply_defaults=False, context={"speed": 100})
    assert [(e.field, e.code) for e in errors] == [("c.speed", "VALUE_NOT_ALLOWED")]
    _, whole = check_characteristics(rules, {"tier": "business", "speed": 100}, "c", apply_defaults=True)
    assert [(e.field, e.code) for e in whole] == [("c.speed", "VALUE_NOT_ALLOWED")]
    assert check_characteristics(rules, {"tier": "basic"}, "c", apply_defaults=False, context={"speed": 100})[1] == []


def test_an_offering_pattern_that_cannot_stand_beside_the_specifications_is_refused():
    spec = SpecificationDef("w.spec", "product", "W", characteristics=(CharacteristicDef("code", pattern="[0-9]+"),))
    with pytest.raises(PluginConfigurationError, match="'code': pattern with the specification's"):
        _registry(CharacteristicConstraint("code", pattern="(?i)[a-z0-9]{2}"), spec=spec)
