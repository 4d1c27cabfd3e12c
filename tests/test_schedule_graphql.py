"""Typed dependencies and the timeline through GraphQL, against an in-process runtime with real
dramatiq workers: a start-to-start dependency with a lag starts its task on time (while its
predecessor still runs), a finish-to-finish one holds a finished task's completion, and
``order.timeline`` shows every task with its dates, dependencies and critical flag."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import fixture_auto_pack, fixture_pack, fixture_schedule_pack, support

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id } errors { field message code } }
}"""
TIMELINE = """
query($id: ID!) {
  order(id: $id) {
    state expectedCompletionDate committedCompletionDate
    completionEstimates { lineNumber expectedCompletionDate reason detail }
    timeline {
      state startDate committedCompletionDate expectedCompletionDate
      lines {
        lineNumber expectedCompletionDate
        domainOrders {
          specKey state plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate
          tasks {
            key state critical totalFloat durationSeconds finishBlocked
            plannedStartDate plannedEndDate estimatedStartDate estimatedEndDate actualStartDate actualEndDate
            dependencies { predecessorId type lag }
          }
        }
      }
    }
  }
}"""


def _gql(client, query, variables=None):
    body = client.post("/graphql", json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


@pytest.fixture
def client(make_runtime, sqlite_url):
    runtime = make_runtime(
        sqlite_url,
        extra_plugins=(fixture_pack, fixture_auto_pack, fixture_schedule_pack),
        task_lease_seconds=30,
        worker_threads=4,
    )
    with TestClient(create_app(runtime=runtime), headers=support.bearer(runtime, "order_manager")) as client:
        yield client


def test_a_start_to_start_dependency_with_lag_starts_its_task_on_time(client):
    order_input = {"customerId": "LAG", "lines": [{"offering": "test-lagged"}], "requestedInitialState": "ACKNOWLEDGED"}
    created = _gql(client, CREATE, {"input": order_input})["orderCreate"]
    assert created["errors"] == []
    order_id = created["order"]["id"]

    def done():
        order = _gql(client, TIMELINE, {"id": order_id})["order"]
        return order if order["state"] == "COMPLETED" else None

    order = support.wait_for(done, 30, message="the lagged order to complete")
    [line] = order["timeline"]["lines"]
    [domain_order] = line["domainOrders"]
    tasks = {t["key"]: t for t in domain_order["tasks"]}
    slow, follow, finish_with = tasks["test.slow-start"], tasks["test.follow"], tasks["test.finish-with"]

    # startToStart + 2 s: it started 2 s after the slow task started, while that one still ran.
    assert follow["dependencies"][0]["type"] == "START_TO_START" and follow["dependencies"][0]["lag"] == 2
    lag = timedelta(seconds=fixture_schedule_pack.LAG.total_seconds())
    started_after = _dt(follow["actualStartDate"]) - _dt(slow["actualStartDate"])
    assert lag <= started_after < lag + timedelta(seconds=1.2), started_after
    assert _dt(follow["actualEndDate"]) < _dt(slow["actualEndDate"])

    # finishToFinish: its handler answered at once, but it completed only when the slow task did.
    assert finish_with["dependencies"][0]["type"] == "FINISH_TO_FINISH"
    assert _dt(finish_with["actualStartDate"]) < _dt(slow["actualStartDate"]) + timedelta(seconds=1)
    assert _dt(finish_with["actualEndDate"]) >= _dt(slow["actualEndDate"])
    assert finish_with["finishBlocked"] is False and finish_with["state"] == "COMPLETED"

    # The timeline: planned dates from the plan, estimates equal to the actuals once done.
    for task in tasks.values():
        assert task["plannedStartDate"] and task["plannedEndDate"] and task["durationSeconds"]
        assert (task["estimatedStartDate"], task["estimatedEndDate"]) == (task["actualStartDate"], task["actualEndDate"])
    assert slow["critical"]  # the slow task sets the end
    assert domain_order["actualStartDate"] == slow["actualStartDate"]
    assert order["expectedCompletionDate"] == order["timeline"]["expectedCompletionDate"] == line["expectedCompletionDate"]
    reasons = [e["reason"] for e in order["completionEstimates"] if e["lineNumber"] is None]
    assert reasons[0] == "planned"
