"""Future-dated cancellation (core/change/cancellation.py, ``requestedCancellationDate``): assessed at
once, then waiting ``acknowledged`` while the order runs on, carried out by the reconciler's pass
once its date has come (assessed again), rejected when its order ends first; and the cancellation
fee written on the order's prices (change/charges.py), held across a revision's repricing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.change.revision_input import LineRevision, RevisionInput
from om_graph.core.fulfilment.models import DomainOrder
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.models import utcnow
from om_graph.core.ordering.commands import LineInput, OrderInput
from tests import fixture_undo_pack as pack
from tests import support
from tests.support import AGENT
from tests.test_cancellation import drain, place, svc, tasks_of  # noqa: F401
from tests.test_cancellation_graphql import CANCEL, ORDER, _gql, _place

LATER = timedelta(hours=1)


def _order(svc, order_id):  # noqa: F811
    return svc.queries.order(AGENT, order_id)


def _fee_alterations(prices):
    return [
        a
        for entry in prices or ()
        for a in entry.get("priceAlteration") or ()
        if (a.get("source") or {}).get("kind") == "cancellationFee"
    ]


def test_a_dated_request_waits_then_is_carried_out_with_its_fee_on_the_order(svc):  # noqa: F811
    order_id = place(svc)
    one_time = _order(svc, order_id).order.one_time_total
    date = utcnow() + LATER
    request = svc.cancellations.request(AGENT, order_id, reason="moving out", requested_date=date)
    assert (request.state, request.result, request.fee) == ("acknowledged", None, None)
    detail = _order(svc, order_id)
    assert detail.order.state == "inProgress" and [line.state for line in detail.lines] == ["inProgress"]
    assert svc.cancellations.run_due() == 0  # not yet
    assert svc.cancel_requests.get(AGENT, request.id).state == "acknowledged"
    with pytest.raises(ValidationFailed) as again:
        svc.cancellations.request(AGENT, order_id, reason="now, please")
    assert again.value.errors[0].code == "CANCELLATION_IN_PROGRESS" and "scheduled for" in again.value.errors[0].message

    assert svc.cancellations.run_due(date + timedelta(seconds=1)) == 1
    assert svc.cancellations.run_due(date + timedelta(seconds=1)) == 0  # carried out once
    drain(svc)
    done = svc.cancel_requests.get(AGENT, request.id)
    assert (done.state, done.result) == ("done", "accepted")
    assert done.fee is not None and done.fee["amount"] == "15.00"
    assert [t for _, _, t in pack.undo_calls()] == ["undo.configure", "undo.reserve"]
    detail = _order(svc, order_id)
    assert detail.order.state == "cancelled"
    # The fee is charged on the order: a one-time surcharge on the line and on the order's total.
    assert detail.order.one_time_total == one_time + Decimal("15.00")
    [line_fee] = _fee_alterations(detail.lines[0].prices["itemTotalPrice"])
    assert (line_fee["name"], line_fee["source"]["cancelRequestId"]) == ("Cancellation fee", request.id)
    [total_fee] = _fee_alterations(detail.order.total_prices)
    assert total_fee["name"] == "Cancellation fees"
    events = [e for e in detail.events if (e.payload or {}).get("action") == "cancellationFee"]
    assert len(events) == 1


def test_a_dated_request_is_rejected_when_its_order_completes_first(svc):  # noqa: F811
    order_id = place(svc)
    request = svc.cancellations.request(AGENT, order_id, reason="r", requested_date=utcnow() + LATER)
    [manual] = [t for t in tasks_of(svc, order_id).values() if t.state == "ready" and t.kind == "manual"]
    svc.processing.complete_task(AGENT, manual.id, {})
    drain(svc)
    assert _order(svc, order_id).order.state == "completed"
    rejected = svc.cancel_requests.get(AGENT, request.id)
    assert (rejected.state, rejected.result) == ("rejected", "denied")
    assert rejected.result_message.startswith("NOT_CANCELLABLE") and "completed" in rejected.result_message
    assert svc.cancellations.run_due(utcnow() + 2 * LATER) == 0
    assert pack.undo_calls() == []


def test_what_denies_a_dated_request_denies_it_at_once(svc):  # noqa: F811
    order_id = place(svc, "undo-hard")
    request = svc.cancellations.request(AGENT, order_id, reason="r", requested_date=utcnow() + LATER)
    assert (request.state, request.result) == ("done", "denied")
    assert request.result_message.startswith("PONR_PASSED")
    assert _order(svc, order_id).order.state == "inProgress"


def test_a_point_of_no_return_passed_while_waiting_is_assessed_at_the_date(svc):  # noqa: F811
    order = svc.orders.create(AGENT, OrderInput("ACME", (LineInput("undo-soft", characteristics={"label": "x"}),)))
    svc.orders.submit(AGENT, order.id)
    svc.processing.process(order.id)  # decomposed; nothing has started
    date = utcnow() + LATER
    request = svc.cancellations.request(AGENT, order.id, reason="r", requested_date=date)
    assert request.state == "acknowledged"
    drain(svc)  # the kit is ordered: the line passes a soft point of no return the request did not acknowledge
    assert svc.cancellations.run_due(date) == 1
    denied = svc.cancel_requests.get(AGENT, request.id)
    assert (denied.state, denied.result) == ("done", "denied")
    assert denied.result_message.startswith("PONR_ACKNOWLEDGEMENT_REQUIRED")
    detail = _order(svc, order.id)
    assert detail.order.state == "inProgress" and [line.state for line in detail.lines] == ["inProgress"]


def test_a_revision_being_applied_at_the_date_holds_the_request_until_it_is_done(svc):  # noqa: F811
    order_id = place(svc, "undo-box", "undo-box")
    first, _ = _order(svc, order_id).lines
    date = utcnow() + LATER
    request = svc.cancellations.request(AGENT, order_id, line_id=first.id, reason="r", requested_date=date)
    change = RevisionInput(lines=(LineRevision(line_number=2, characteristics={"label": "y"}),))
    revision = svc.revisions.revise(AGENT, order_id, change, expected_version=None, reason="relabel")
    assert revision.state == "inProgress"  # its undo and redo run through the orchestration
    assert svc.cancellations.run_due(date) == 0
    assert svc.cancel_requests.get(AGENT, request.id).state == "acknowledged"
    drain(svc)
    second = _order(svc, order_id).lines[1]
    with svc.sessions() as s:
        ids = set(s.scalars(select(DomainOrder.id).where(DomainOrder.line_id == second.id)))
    [install] = [t for t in tasks_of(svc, order_id).values() if t.state == "ready" and t.domain_order_id in ids]
    svc.processing.complete_task(AGENT, install.id, {})  # the revision's replanned work is over
    drain(svc)
    assert svc.revisions.get(AGENT, revision.id).state == "completed"
    assert svc.cancellations.run_due(date) == 1
    drain(svc)
    detail = _order(svc, order_id)
    assert {line.line_number: line.state for line in detail.lines} == {1: "cancelled", 2: "completed"}
    assert svc.cancel_requests.get(AGENT, request.id).result == "accepted"


def test_the_fee_survives_a_revision_repricing_the_order(svc):  # noqa: F811
    order_id = place(svc, "undo-box", "undo-box")
    first, _ = _order(svc, order_id).lines
    svc.cancellations.request(AGENT, order_id, line_id=first.id, reason="only one")
    drain(svc)
    charged = _order(svc, order_id).order
    [fee] = _fee_alterations(charged.total_prices)
    change = RevisionInput(lines=(LineRevision(line_number=2, characteristics={"label": "y"}),))
    svc.revisions.revise(AGENT, order_id, change, expected_version=None, reason="relabel")
    drain(svc)
    revised = _order(svc, order_id).order
    assert revised.order_version == charged.order_version + 1
    assert _fee_alterations(revised.total_prices) == [fee]  # once: neither lost nor doubled
    # Repriced from its live line (10.00 one-time) plus the fee the cancelled line left on the order.
    assert revised.one_time_total == Decimal("25.00")


def test_a_dated_order_cancel_through_graphql_runs_on_time_across_a_restart(make_runtime, sqlite_url):
    pack.reset()

    def runtime():
        return make_runtime(
            sqlite_url, extra_plugins=(pack,), task_lease_seconds=30, worker_threads=2, reconcile_interval_seconds=0.5
        )

    first = runtime()
    headers = support.bearer(first, "order_manager")
    date = datetime.now(UTC) + timedelta(seconds=4)
    with TestClient(create_app(runtime=first), headers=headers) as client:
        order_id, _ = _place(client)
        variables = {"input": {"id": order_id, "reason": "moving", "requestedCancellationDate": date.isoformat()}}
        payload = _gql(client, CANCEL, variables)["orderCancel"]
        assert payload["errors"] == [] and payload["cancelRequest"]["state"] == "ACKNOWLEDGED"
        assert payload["order"]["state"] == "IN_PROGRESS"
    first.stop()

    second = runtime()  # a new runtime on the same database
    with TestClient(create_app(runtime=second), headers=headers) as client:

        def cancelled():
            order = _gql(client, ORDER, {"id": order_id})["order"]
            return order if order["state"] == "CANCELLED" else None

        order = support.wait_for(cancelled, 30, message="the dated cancellation to run")
        assert datetime.now(UTC) >= date
        [request] = order["cancelRequests"]
        assert (request["state"], request["result"], request["fee"]["amount"]) == ("DONE", "ACCEPTED", "15.00")
        assert [t for _, _, t in pack.undo_calls()] == ["undo.configure", "undo.reserve"]
