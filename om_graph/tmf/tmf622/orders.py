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

from om_graph.core.access.actor import Actor
from om_graph.core.kernel.criteria import Criterion
from om_graph.core.ordering.states import OrderStates
from om_graph.tmf.apis import PRODUCT_CATALOG, api_href
from om_graph.tmf.errors import TmfError
from om_graph.tmf.http import JSON, MERGE_PATCH, Call, created
from om_graph.tmf.query import Filterable, id_value, list_response, parse_datetime, parse_fields, parse_list, select
from om_graph.tmf.tmf622 import order_mapping as mapping
from om_graph.tmf.tmf622.order_patch import merge_patch, revision_of

RESOURCE = "productOrder"
LINES = frozenset({"lines"})
IDEMPOTENCY_HEADERS = ("idempotency-key", "x-idempotency-key")
ACK_HEADER = "x-acknowledge-point-of-no-return"  # a revision past a soft PONR (and its charge)
REASON_HEADER = "x-change-reason"  # why a running order is revised
NOT_DRAFT = Criterion("state", "ne", (OrderStates.DRAFT,))
FILTERS = {
    "id": Filterable("id", id_value),
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


def order_id(call: Call) -> int:
    return call.path_id("product order")


def catalog_href(call: Call) -> str:
    return api_href(call, PRODUCT_CATALOG, "productOffering")


def render(call: Call, detail: Any) -> dict[str, Any]:
    return mapping.to_tmf(detail, call.href(RESOURCE, detail.order.id), catalog_href(call))


async def detail_of(call: Call, number: int) -> Any:
    found = (await call.run(call.services.queries.orders_by_id, call.actor, [number], LINES)).get(number)
    if found is None or found.order.discarded_at is not None:
        raise TmfError(404, "NOT_FOUND", f"no product order {number}")
    return found


async def read(call: Call, number: int) -> dict[str, Any]:
    return render(call, await detail_of(call, number))


def idempotency_key(call: Call, body: dict[str, Any]) -> str | None:
    for header in IDEMPOTENCY_HEADERS:
        value = call.request.headers.get(header)
        if value is not None:
            return value
    return external_key(partner_of(call.actor), body.get("externalId"))


def partner_of(actor: Actor) -> str:
    """Whose externalIds a caller's are: its identity without how it authenticated
    (``token:acme-crm``, ``jwt:acme-crm`` and the import's ``import:acme-crm`` are one partner)."""
    return actor.id.partition(":")[2] or actor.id


def external_key(partner: str, external_id: object) -> str | None:
    """The idempotency key an ``externalId`` stands for, per partner."""
    if isinstance(external_id, str) and external_id:
        digest = hashlib.sha256(f"{partner}\0{external_id}".encode()).hexdigest()[:40]
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
    criteria = query.criteria
    if not any(c.field == "state" for c in criteria):
        criteria = (*criteria, NOT_DRAFT)  # v5's drafts only when asked for: v4 has no such state
    found = await call.run(
        call.services.queries.order_slice,
        call.actor,
        offset=query.offset,
        limit=query.limit,
        criteria=criteria,
        include=LINES,
    )
    return list_response([select(render(call, d), query.fields, mapping.ALWAYS) for d in found.items], found.total)


async def patch(call: Call) -> Response:
    """A JSON merge patch (RFC 7386) of the order as GET shows it. A draft takes any change of
    what a create takes (and ``state: acknowledged`` submits it); a running order is revised
    (core/change/revision.py): items' quantity and characteristics, items added or removed, the
    requested dates. Anything else after submission is a 400 naming it."""
    number = order_id(call)
    body = await call.body(MERGE_PATCH, JSON)
    detail = await detail_of(call, number)
    current = render(call, detail)
    patched = merge_patch(current, body)
    if detail.order.state == OrderStates.DRAFT:
        data, submit = mapping.to_order_input(patched, detail.order.customer_id, None)
        await call.run(call.services.orders.update, call.actor, number, data)
        if submit:
            await call.run(call.services.orders.submit, call.actor, number)
    else:
        changes = revision_of(current, patched)
        acknowledged = call.request.headers.get(ACK_HEADER, "").lower() == "true"
        reason = call.request.headers.get(REASON_HEADER) or "revised through TMF622 PATCH"
        await call.run(
            call.services.revisions.revise,
            call.actor,
            number,
            changes,
            expected_version=None,
            reason=reason[:500],
            acknowledge_ponr=acknowledged,
        )
    return JSONResponse(await read(call, number))


async def delete(call: Call) -> Response:
    """Discard a draft (a submitted order is cancelled with cancelProductOrder: 409 here)."""
    number = order_id(call)
    await detail_of(call, number)
    await call.run(call.services.orders.discard, call.actor, number)
    return Response(status_code=204)
