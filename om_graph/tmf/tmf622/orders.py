"""TMF622 ``productOrder``: POST, GET (list and by id), PATCH (a draft, as a JSON merge patch),
DELETE (a draft): thin handlers over the ordering and read services.

Idempotent capture: an ``Idempotency-Key`` header is the core's idempotency key (a retry with the
same key and body returns the same order; another body under it is a 409). Without one, an
``externalId`` is the key, per partner (the caller's identity) and customer: a partner's retried
POST, or an import run again, returns the order it made the first time.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.responses import JSONResponse, Response

from om_graph.tmf.errors import TmfError
from om_graph.tmf.http import Call, created
from om_graph.tmf.query import Filterable, list_response, parse_datetime, parse_fields, parse_list, select
from om_graph.tmf.tmf622 import order_mapping as mapping

RESOURCE = "productOrder"
LINES = frozenset({"lines"})
IDEMPOTENCY_HEADERS = ("idempotency-key", "x-idempotency-key")
FILTERS = {
    "id": Filterable("id", lambda v: _number(v)),
    "state": Filterable("state"),
    "externalId": Filterable("external_id"),
    "relatedParty.id": Filterable("customer_id"),
    "category": Filterable("segment"),
    "priority": Filterable("priority"),
    "orderDate": Filterable("created_at", parse_datetime, ordered=True),
    "completionDate": Filterable("completed_at", parse_datetime, ordered=True),
    "requestedStartDate": Filterable("requested_start_date", parse_datetime, ordered=True),
    "requestedCompletionDate": Filterable("requested_completion_date", parse_datetime, ordered=True),
}


def _number(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise ValueError("an order id is a number")
    return int(value)


def order_id(call: Call) -> int:
    raw = str(call.request.path_params["id"])
    if not raw.isdigit() or len(raw) > 18:
        raise TmfError(404, "NOT_FOUND", f"no product order {raw!r}")
    return int(raw)


def catalog_href(call: Call) -> str:
    return f"{str(call.request.base_url).rstrip('/')}/tmf-api/productCatalogManagement/v4/productOffering"


def render(call: Call, detail: Any) -> dict[str, Any]:
    return mapping.to_tmf(detail, call.href(RESOURCE, detail.order.id), catalog_href(call))


async def read(call: Call, number: int) -> dict[str, Any]:
    detail = await call.run(call.services.queries.orders_by_id, call.actor, [number], LINES)
    found = detail.get(number)
    if found is None:
        raise TmfError(404, "NOT_FOUND", f"no product order {number}")
    return render(call, found)


def idempotency_key(call: Call, body: dict[str, Any]) -> str | None:
    for header in IDEMPOTENCY_HEADERS:
        value = call.request.headers.get(header)
        if value is not None:
            return value
    external = body.get("externalId")
    if isinstance(external, str) and external:
        digest = hashlib.sha256(f"{call.actor.label}\0{external}".encode()).hexdigest()[:40]
        return f"externalId:{digest}"
    return None


async def create(call: Call) -> Response:
    body = await call.body()
    data, submit = mapping.to_order_input(body, call.actor.account_id, idempotency_key(call, body))
    order = await call.run(call.services.orders.create, call.actor, data, submit=submit)
    return created(await read(call, order.id))


async def get_one(call: Call) -> Response:
    fields = parse_fields(call.request.query_params)
    return JSONResponse(select(await read(call, order_id(call)), fields, mapping.ALWAYS))


async def get_list(call: Call) -> Response:
    query = parse_list(call.request.query_params, FILTERS)
    found = await call.run(
        call.services.queries.order_slice,
        call.actor,
        offset=query.offset,
        limit=query.limit,
        criteria=query.criteria,
        include=LINES,
    )
    return list_response([select(render(call, d), query.fields, mapping.ALWAYS) for d in found.items], found.total)
