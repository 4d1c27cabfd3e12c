"""The decision service: shipped defaults stored and upgraded (an admin's activation wins),
the active tables per unit of work (one SELECT, compiled once per version, seen by another
process's service on its next unit of work), versions, audit, permissions, nothing written on
failure."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Forbidden
from om_graph.core.decisions.definitions import Condition, DecisionTableDef, InputColumn, OutputColumn, Rule
from om_graph.core.decisions.errors import DecisionTableInvalid, UnknownDecisionTable
from om_graph.core.decisions.models import DecisionTable, DecisionTableAudit, DecisionTableVersion
from om_graph.core.decisions.service import DecisionService
from om_graph.core.kernel.errors import PluginConfigurationError, ValidationFailed

ADMIN = Actor("admin-1", frozenset({"process_admin"}))
AGENT = Actor("agent-1", frozenset({"order_agent"}))
CUSTOMER = Actor("cust-1", frozenset({"customer"}), account_id="A")

PRICE = DecisionTableDef(
    name="test.price",
    inputs=(InputColumn("bandwidth", "integer"), InputColumn("term", "integer")),
    outputs=(OutputColumn("amount", "number"),),
    hit_policy="unique",
    rules=(
        Rule(when={"bandwidth": Condition.between(0, 500)}, then={"amount": Decimal("10.00")}),
        Rule(when={"bandwidth": Condition.between(501, None)}, then={"amount": Decimal("20.00")}),
    ),
)


def priced(defn: DecisionTableDef, low: str, high: str) -> DecisionTableDef:
    return dataclasses.replace(
        defn,
        rules=(
            Rule(when={"bandwidth": Condition.between(0, 500)}, then={"amount": Decimal(low)}),
            Rule(when={"bandwidth": Condition.between(501, None)}, then={"amount": Decimal(high)}),
        ),
    )


@pytest.fixture
def runtime(make_runtime, database_url):
    return make_runtime(database_url, embedded_workers=False)


def service(runtime, *defaults, sources=None) -> DecisionService:
    svc = DecisionService(runtime.services.uow, defaults=defaults, sources=sources)
    svc.sync_defaults()
    return svc


def amount(svc, bandwidth=100) -> Decimal:
    with svc._uow(read_only=True) as uow:
        return svc.active(uow.session).first("test.price", {"bandwidth": bandwidth})["amount"]


def counts(runtime) -> tuple[int, int, int]:
    with runtime.sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) for m in (DecisionTable, DecisionTableVersion, DecisionTableAudit)
        )


def test_the_core_defaults_are_stored_at_startup(runtime):
    table = runtime.services.decisions.get_table(ADMIN, "order.priority")
    assert [(v.number, v.status, v.source) for v in table.versions] == [(1, "active", "core")]
    assert [(a.action, a.to_version, a.actor) for a in table.audit] == [("created", 1, "system")]
    runtime.services.load_catalog()  # again: nothing new
    assert len(runtime.services.decisions.get_table(ADMIN, "order.priority").versions) == 1


def test_a_changed_pack_default_is_activated_unless_an_admin_version_is_active(runtime):
    source = {"test.price": "pack:acme"}
    svc = service(runtime, PRICE, sources=source)
    assert amount(svc) == Decimal("10.00")
    # the pack upgrades: its new default becomes active (the active one was its own)
    svc2 = service(runtime, priced(PRICE, "11.00", "21.00"), sources=source)
    assert amount(svc2) == Decimal("11.00")
    view = svc2.get_table(ADMIN, "test.price")
    assert [(v.number, v.status) for v in view.versions] == [(2, "active"), (1, "retired")]
    assert view.audit[0].action == "defaultActivated" and (view.audit[0].from_version, view.audit[0].to_version) == (1, 2)
    # an admin activates their own version; the next pack upgrade is stored, not activated
    svc2.update_draft(ADMIN, priced(PRICE, "12.00", "22.00"), comment="Q1")
    svc2.activate(ADMIN, "test.price", 3, reason="Q1 prices")
    svc3 = service(runtime, priced(PRICE, "13.00", "23.00"), sources=source)
    assert amount(svc3) == Decimal("12.00")
    view = svc3.get_table(ADMIN, "test.price")
    assert [(v.number, v.status, v.source) for v in view.versions] == [
        (4, "retired", "pack:acme"),
        (3, "active", "admin:admin-1"),
        (2, "retired", "pack:acme"),
        (1, "retired", "pack:acme"),
    ]
    assert view.audit[0].action == "defaultStored"
    # the admin can roll forward to the pack's new default
    svc3.rollback(ADMIN, "test.price", 4, reason="adopt the pack's prices")
    assert amount(svc3) == Decimal("13.00")


def test_activation_is_seen_by_another_service_on_its_next_unit_of_work(runtime):
    writer = service(runtime, PRICE)
    reader = DecisionService(runtime.services.uow, defaults=(PRICE,))  # another process's
    assert amount(reader) == Decimal("10.00")
    writer.update_draft(ADMIN, priced(PRICE, "15.00", "25.00"))
    assert amount(reader) == Decimal("10.00")  # a draft is not active
    writer.activate(ADMIN, "test.price", 2, reason="new prices")
    assert amount(reader) == Decimal("15.00")
    writer.rollback(ADMIN, "test.price", 1, reason="too expensive")
    assert amount(reader) == Decimal("10.00")


def test_the_active_tables_cost_one_select_and_compile_once_per_version(runtime):
    svc = service(runtime, PRICE)
    statements = []
    engine = runtime.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    with svc._uow(read_only=True) as uow:
        svc.active(uow.session)  # warm
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with svc._uow(read_only=True) as uow:
            first = svc.active(uow.session)
            assert svc.active(uow.session) is first  # same session: no statement
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "decision_table" in s]) == 1
    with svc._uow(read_only=True) as uow:
        assert svc.active(uow.session).table("test.price") is first.table("test.price")  # compiled once
    with pytest.raises(UnknownDecisionTable):
        first.evaluate("no.such", {})


def test_drafts_activation_rollback_and_audit(runtime):
    svc = service(runtime)
    svc.create_table(ADMIN, PRICE, comment="first cut")
    with svc._uow(read_only=True) as uow:
        assert "test.price" not in svc.active(uow.session)  # a draft only
    assert svc.test(ADMIN, "test.price", [{"bandwidth": 100}, {"bandwidth": 900}, {}])[1].outputs == [
        {"amount": Decimal("20.00")}
    ]
    svc.activate(ADMIN, "test.price", 1, reason="go live")
    view = svc.update_draft(ADMIN, priced(PRICE, "9.00", "19.00"))
    assert view.draft.number == 2 and view.active.number == 1
    svc.update_draft(ADMIN, priced(PRICE, "8.00", "18.00"), expected_draft=2)  # replaces draft 2
    assert svc.test(ADMIN, "test.price", [{"bandwidth": 100}])[0].outputs == [{"amount": Decimal("8.00")}]
    assert svc.test(ADMIN, "test.price", [{"bandwidth": 100}], version=1)[0].matched_rules == [0]
    svc.activate(ADMIN, "test.price", 2, reason="cheaper")
    assert amount(svc) == Decimal("8.00")
    svc.rollback(ADMIN, "test.price", 1, reason="complaints")
    assert amount(svc) == Decimal("10.00")
    view = svc.get_table(ADMIN, "test.price")
    assert [(v.number, v.status) for v in view.versions] == [(2, "retired"), (1, "active")]
    assert [(a.action, a.from_version, a.to_version, a.actor, a.reason) for a in view.audit] == [
        ("rolledBack", 2, 1, "admin-1", "complaints"),
        ("activated", 1, 2, "admin-1", "cheaper"),
        ("draftUpdated", None, 2, "admin-1", ""),
        ("draftUpdated", None, 2, "admin-1", ""),
        ("activated", None, 1, "admin-1", "go live"),
        ("created", None, 1, "admin-1", "first cut"),
    ]
    assert {"order.priority", "test.price"} <= {t.name for t in svc.list_tables(AGENT)}


def test_a_discarded_draft_is_kept_retired_and_the_next_edit_opens_a_new_one(runtime):
    svc = service(runtime)
    svc.create_table(ADMIN, PRICE)
    svc.activate(ADMIN, "test.price", 1, reason="go live")
    svc.update_draft(ADMIN, priced(PRICE, "1.00", "2.00"))
    for call, field, code in [
        (lambda: svc.discard_draft(ADMIN, "test.price", 1, reason="x"), "version", "STALE_DRAFT"),
        (lambda: svc.discard_draft(ADMIN, "test.price", 2, reason=" "), "reason", "REQUIRED"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            call()
        assert [(e.field, e.code) for e in info.value.errors] == [(field, code)]
    with pytest.raises(Forbidden):
        svc.discard_draft(AGENT, "test.price", 2, reason="x")
    view = svc.discard_draft(ADMIN, "test.price", 2, reason="not now")
    assert view.draft is None and view.active.number == 1 and amount(svc) == Decimal("10.00")
    assert [(v.number, v.status) for v in view.versions] == [(2, "retired"), (1, "active")]
    assert (view.audit[0].action, view.audit[0].to_version, view.audit[0].reason) == ("draftDiscarded", 2, "not now")
    assert svc.update_draft(ADMIN, priced(PRICE, "3.00", "4.00")).draft.number == 3
    with pytest.raises(ValidationFailed):
        svc.discard_draft(ADMIN, "test.price", 2, reason="again")  # retired now, not the draft


def test_failures_change_nothing(runtime):
    svc = service(runtime, PRICE)
    svc.update_draft(ADMIN, priced(PRICE, "9.00", "19.00"))
    before = counts(runtime)
    overlapping = dataclasses.replace(PRICE, rules=(*PRICE.rules, Rule(when={"bandwidth": Condition.equals(7)})))
    cases = [
        (lambda: svc.update_draft(ADMIN, overlapping), "rules.2.when", "OVERLAPPING_RULES"),
        (
            lambda: svc.update_draft(ADMIN, dataclasses.replace(PRICE, outputs=(OutputColumn("price", "number"),), rules=())),
            "outputs",
            "INTERFACE_CHANGED",
        ),
        (
            lambda: svc.update_draft(
                ADMIN,
                dataclasses.replace(PRICE, inputs=(InputColumn("bandwidth", "string"), InputColumn("term", "integer")), rules=()),
            ),
            "inputs.0.type",
            "INTERFACE_CHANGED",
        ),
        (lambda: svc.update_draft(ADMIN, PRICE, expected_draft=5), "expectedDraft", "STALE_DRAFT"),
        (lambda: svc.create_table(ADMIN, PRICE), "name", "DECISION_TABLE_EXISTS"),
        (lambda: svc.activate(ADMIN, "test.price", 1, reason="x"), "version", "NO_DRAFT"),
        (lambda: svc.activate(ADMIN, "test.price", 9, reason="x"), "version", "UNKNOWN_VERSION"),
        (lambda: svc.activate(ADMIN, "test.price", 2, reason=" "), "reason", "REQUIRED"),
        (lambda: svc.rollback(ADMIN, "test.price", 1, reason="x"), "version", "VERSION_NOT_RETIRED"),
        (lambda: svc.rollback(ADMIN, "test.price", 2, reason="x"), "version", "VERSION_NOT_RETIRED"),
        (
            lambda: svc.test(ADMIN, "test.price", [{"bandwidth": 1}, {"bandwidth": "fast"}]),
            "samples.1.bandwidth",
            "INPUT_TYPE_MISMATCH",
        ),
        (lambda: svc.test(ADMIN, "test.price", []), "samples", "REQUIRED"),
        (lambda: svc.activate(ADMIN, "no.such", 1, reason="x"), "name", "UNKNOWN_DECISION_TABLE"),
    ]
    for call, field, code in cases:
        with pytest.raises((ValidationFailed, DecisionTableInvalid, UnknownDecisionTable)) as info:
            call()
        assert (field, code) in [(e.field, e.code) for e in info.value.errors], (field, code, info.value.errors)
    for actor in (AGENT, CUSTOMER):
        with pytest.raises(Forbidden):
            svc.activate(actor, "test.price", 2, reason="x")
        with pytest.raises(Forbidden):
            svc.test(actor, "test.price", [{}])
    with pytest.raises(Forbidden):
        svc.list_tables(CUSTOMER)
    assert counts(runtime) == before
    assert amount(svc) == Decimal("10.00")


def test_shipped_defaults_must_validate_and_be_unique():
    with pytest.raises(PluginConfigurationError, match="shipped twice"):
        DecisionService(lambda **kw: None, defaults=(PRICE, PRICE), sources={})  # type: ignore[arg-type]
    bad = dataclasses.replace(PRICE, rules=(Rule(when={"speed": Condition.equals(1)}),))
    with pytest.raises(PluginConfigurationError, match=r"rules\.0\.when\.speed"):
        DecisionService(lambda **kw: None, defaults=(bad,))  # type: ignore[arg-type]


def test_a_packs_tables_come_through_the_hook_with_their_source(make_runtime, sqlite_url):
    from om_graph.api import Pack
    from tests import fixture_auto_pack, fixture_pack

    acme = Pack(name="acme", decision_tables=[dataclasses.replace(PRICE, name="acme.price")])
    runtime = make_runtime(sqlite_url, embedded_workers=False, extra_plugins=(fixture_pack, fixture_auto_pack, acme))
    assert runtime.services.registry.decision_table_packs["acme.price"] == "pack:acme"
    view = runtime.services.decisions.get_table(ADMIN, "acme.price")
    assert view.default_source == "pack:acme" and [(v.number, v.status, v.source) for v in view.versions] == [
        (1, "active", "pack:acme")
    ]
    with runtime.services.uow(read_only=True) as uow:
        assert runtime.services.decisions.active(uow.session).first("acme.price", {"bandwidth": 900}) == {
            "amount": Decimal("20.00")
        }


def test_an_upgrade_whose_consumer_reads_more_replaces_an_admin_version_that_lacks_it(runtime):
    source = {"test.price": "pack:acme"}
    svc = service(runtime, PRICE, sources=source)
    svc.update_draft(ADMIN, priced(PRICE, "12.00", "22.00"))
    svc.activate(ADMIN, "test.price", 2, reason="ours")
    # the pack's next release reads a new output column, "currency"
    upgraded = dataclasses.replace(
        priced(PRICE, "13.00", "23.00"), outputs=(*PRICE.outputs, OutputColumn("currency", "string", default="EUR"))
    )
    svc2 = service(runtime, upgraded, sources=source)
    with svc2._uow(read_only=True) as uow:
        assert svc2.active(uow.session).first("test.price", {"bandwidth": 1}) == {"amount": Decimal("13.00"), "currency": "EUR"}
    entry = svc2.get_table(ADMIN, "test.price").audit[0]
    assert (entry.action, entry.from_version, entry.to_version) == ("defaultActivated", 2, 3)
    assert "no longer fits" in entry.reason and "currency" in entry.reason


def test_a_table_extending_a_shipped_one_by_name_keeps_its_interface(runtime):
    """``ops.test.price`` is read wherever ``test.price``'s consumer reads ``<namespace>.test.price``
    tables: an admin's or a pack's must keep the shipped table's columns and types."""
    svc = service(runtime, PRICE)
    wrong = dataclasses.replace(PRICE, name="ops.test.price", outputs=(OutputColumn("amount", "string"),), rules=())
    with pytest.raises(DecisionTableInvalid) as info:
        svc.create_table(ADMIN, wrong)
    assert [(e.field, e.code) for e in info.value.errors] == [("outputs.0.type", "INTERFACE_CHANGED")]
    svc.create_table(ADMIN, dataclasses.replace(PRICE, name="ops.test.price"))
    with pytest.raises(DecisionTableInvalid):
        svc.update_draft(ADMIN, wrong)
    with pytest.raises(PluginConfigurationError, match="extends 'test.price'"):
        DecisionService(runtime.services.uow, defaults=(PRICE, dataclasses.replace(wrong, name="pack.test.price")))


def test_a_draft_edited_after_a_test_is_activated_as_it_now_reads(runtime):
    svc = service(runtime)
    svc.create_table(ADMIN, priced(PRICE, "1.00", "2.00"))
    assert svc.test(ADMIN, "test.price", [{"bandwidth": 100}])[0].outputs == [{"amount": Decimal("1.00")}]
    svc.update_draft(ADMIN, priced(PRICE, "5.00", "6.00"))
    assert svc.test(ADMIN, "test.price", [{"bandwidth": 100}])[0].outputs == [{"amount": Decimal("5.00")}]
    svc.activate(ADMIN, "test.price", 1, reason="go")
    assert amount(svc) == Decimal("5.00")


def test_a_discarded_draft_cannot_be_rolled_back_to(runtime):
    svc = service(runtime)
    svc.create_table(ADMIN, PRICE)
    svc.activate(ADMIN, "test.price", 1, reason="go live")
    svc.update_draft(ADMIN, priced(PRICE, "1.00", "2.00"))
    svc.discard_draft(ADMIN, "test.price", 2, reason="no")
    with pytest.raises(ValidationFailed) as info:
        svc.rollback(ADMIN, "test.price", 2, reason="after all")
    assert [(e.field, e.code) for e in info.value.errors] == [("version", "VERSION_NOT_RETIRED")]
