"""TMF622 ``cancelProductOrder``: a task resource with its own state, over the cancellation of
core/change/cancellation.py (the whole order; a line is cancelled by a PATCH removing its item).

POST takes ``productOrder.id`` (required), ``cancellationReason`` (required here: the core asks why)
and ``requestedCancellationDate`` (in the future: the request waits, ``acknowledged``, and runs at
that date). A soft point of no return is acknowledged with the ``X-Acknowledge-Point-Of-No-Return:
true`` header. States are TMF622 v4's ``TaskStateType``; a request rejected before it ran (v5's
``rejected``: its order ended first) reads ``terminatedWithError`` in v4. What v4 cannot say is
added as extensions: ``result`` (accepted, denied), ``resultMessage`` (the code first) and ``fee``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from om_graph.core.change.states import CancelRequestStates
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.tmf.http import Call, created
from om_graph.tmf.query import Filterable, id_value, list_response, parse_datetime, parse_fields, parse_list, select
from om_graph.tmf.tmf622.order_mapping import Reader
from om_graph.tmf.tmf622.orders import ACK_HEADER
from om_graph.tmf.tmf622.orders import RESOURCE as ORDERS
from om_graph.tmf.values import iso, number, ref

RESOURCE = "cancelProductOrder"
ALWAYS = ("id", "href", "@type", "state", "productOrder")
V4_STATES = {CancelRequestStates.REJECTED: CancelRequestStates.TERMINATED_WITH_ERROR}
FILTERS = {
    "state": Filterable("state"),
    "productOrder.id": Filterable("order_id", id_value),
    "requestedCancellationDate": Filterable("requested_cancellation_date", parse_datetime, ordered=True),
    "effectiveCancellationDate": Filterable("effective_cancellation_date", parse_datetime, ordered=True),
}


def rename(path: str) -> str:
    return {"id": "productOrder.id", "reason": "cancellationReason", "reasonType": "cancellationReason"}.get(path, path)


def render(call: Call, request: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(request.id),
        "href": call.href(RESOURCE, request.id),
        "@type": "CancelProductOrder",
        "state": V4_STATES.get(request.state, request.state),
        "productOrder": ref(
            request.order_id, call.href(ORDERS, request.order_id), "ProductOrderRef", **{"@referredType": "ProductOrder"}
        ),
        "cancellationReason": request.cancellation_reason,
        "requestedCancellationDate": iso(request.requested_cancellation_date),
        "effectiveCancellationDate": iso(request.effective_cancellation_date),
        "result": request.result,
        "resultMessage": request.result_message,
    }
    if request.fee:
        body["fee"] = {"value": float(request.fee["amount"]), "unit": request.fee["currency"]}
    return {key: value for key, value in body.items() if value is not None}


async def create(call: Call) -> Response:
    body = await call.body()
    reader = Reader()
    order = reader.object(body, "productOrder", "productOrder")
    order_ref = order.get("id") if order is not None else None
    if order is None:
        reader.fail("productOrder", "required: the order to cancel", CommonErrorCode.REQUIRED)
    elif number(order_ref) is None:
        reader.fail("productOrder.id", "required: the id of a product order", CommonErrorCode.REQUIRED)
    reason = reader.text(body, "cancellationReason", "cancellationReason", required=True, limit=500)
    date = reader.when(body, "requestedCancellationDate")
    if reader.errors:
        raise ValidationFailed(reader.errors)
    request = await call.run(
        call.services.cancellations.request,
        call.actor,
        number(order_ref),
        reason=reason or "",
        requested_date=date,
        acknowledge_ponr=call.request.headers.get(ACK_HEADER, "").lower() == "true",
    )
    return created(render(call, request))


async def get_one(call: Call) -> Response:
    request = await call.run(call.services.cancel_requests.get, call.actor, call.path_id("cancel product order"))
    return JSONResponse(select(render(call, request), parse_fields(call.request.query_params), ALWAYS))


async def get_list(call: Call) -> Response:
    query = parse_list(call.request.query_params, FILTERS)
    found = await call.run(
        call.services.cancel_requests.slice, call.actor, offset=query.offset, limit=query.limit, criteria=query.criteria
    )
    return list_response([select(render(call, r), query.fields, ALWAYS) for r in found.items], found.total)
