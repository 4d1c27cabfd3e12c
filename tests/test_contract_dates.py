"""Contract end dates are calendar months after the start (not 30-day months), the day clamped
to the target month's last day."""

from __future__ import annotations

import calendar
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.core.catalog.definitions import CatalogContribution, OfferingDef
from om_graph.core.inventory import settlement as inventory
from om_graph.core.inventory.settlement import add_months
from om_graph.plugins import hookimpl
from tests import fixture_auto_pack, fixture_pack, support

starts = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2400, 12, 31))
terms = st.integers(min_value=0, max_value=600)


def months_between(earlier: datetime, later: datetime) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


@given(starts, terms)
def test_add_months_lands_in_the_month_term_months_later_on_the_same_day_or_its_last(start, term):
    end = add_months(start, term)
    assert months_between(start, end) == term
    assert end.day == min(start.day, calendar.monthrange(end.year, end.month)[1])
    assert end.time() == start.time()


@given(starts, terms, terms)
def test_add_months_is_monotonic_and_composes_below_the_29th(start, first, second):
    if first < second:
        assert add_months(start, first) < add_months(start, second)
    if start.day <= 28:  # every month has those days, so no clamp can intervene
        assert add_months(add_months(start, first), second) == add_months(start, first + second)


@pytest.mark.parametrize(
    "start,term,end",
    [
        (datetime(2026, 12, 1, 9, 30), 24, datetime(2028, 12, 1, 9, 30)),  # the fibre contract
        (datetime(2027, 1, 31), 1, datetime(2027, 2, 28)),
        (datetime(2028, 1, 31), 1, datetime(2028, 2, 29)),  # leap year
        (datetime(2027, 1, 31), 2, datetime(2027, 3, 31)),  # the clamp does not carry over
        (datetime(2027, 8, 31), 1, datetime(2027, 9, 30)),
        (datetime(2027, 2, 28), 12, datetime(2028, 2, 28)),
        (datetime(2028, 2, 29), 12, datetime(2029, 2, 28)),
        (datetime(2027, 11, 15), 2, datetime(2028, 1, 15)),  # across the year end
    ],
)
def test_add_months_examples(start, term, end):
    assert add_months(start, term) == end


class TermPack:
    """Offerings of the automatic-only product with contract terms of 24 months and 1 month."""

    @hookimpl
    def om_register_catalog(self):
        return CatalogContribution(
            pack="test-terms",
            offerings=(
                OfferingDef("test-auto-24m", "Auto, 24 months", "test.auto", Decimal("1"), Decimal("1"), contract_term_months=24),
                OfferingDef("test-auto-1m", "Auto, 1 month", "test.auto", Decimal("1"), Decimal("1"), contract_term_months=1),
            ),
        )


CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { code } } }"""
AGREEMENT = """
query($id: ID!) { order(id: $id) { state products { agreement { startDate endDate } } } }"""


@pytest.mark.parametrize(
    "offering,completed_at,end_date",
    [
        ("test-auto-24m", datetime(2026, 12, 1, 9, 30), "2028-12-01T09:30:00"),
        ("test-auto-1m", datetime(2027, 1, 31, 23, 0), "2027-02-28T23:00:00"),
    ],
)
def test_agreement_end_date_through_graphql(make_runtime, sqlite_url, monkeypatch, offering, completed_at, end_date):
    monkeypatch.setattr(inventory, "utcnow", lambda: completed_at)  # the contract starts when the order completes
    runtime = make_runtime(sqlite_url, extra_plugins=(fixture_pack, fixture_auto_pack, TermPack()))
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:

        def gql(query, variables):
            body = client.post("/graphql", json={"query": query, "variables": variables}).json()
            assert "errors" not in body, body
            return body["data"]

        order_input = {"customerId": "TERMS", "lines": [{"offering": offering}], "requestedInitialState": "ACKNOWLEDGED"}
        order_id = gql(CREATE, {"input": order_input})["orderCreate"]["order"]["id"]
        detail = support.wait_for(
            lambda: (found := gql(AGREEMENT, {"id": order_id})["order"])["state"] == "COMPLETED" and found,
            30,
            message="the order to complete",
        )
    [product] = detail["products"]
    assert product["agreement"] == {"startDate": completed_at.isoformat(), "endDate": end_date}
