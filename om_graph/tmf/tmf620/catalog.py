"""TMF620 ``productOffering``, ``productSpecification``, ``productOfferingPrice``: GET (list and
by id), read-only, thin handlers over the core's catalog reads.

What a reader sees is the core's: the orderable offerings (``QueryService.offerings``,
catalog:read), the product specifications of those offerings, and the charges of the price
lists the reader may see (``visible_price_lists``, price:read: a customer's token sees no other
account's list). The catalog is small and in memory, so a list is mapped whole and filtered over
the mapped resources (:func:`om_graph.tmf.query.matching`), then paged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from om_graph.core.pricing.request import visible_price_lists
from om_graph.tmf.apis import api_href
from om_graph.tmf.errors import TmfError
from om_graph.tmf.http import Call
from om_graph.tmf.query import Filterable, list_response, matching, parse_fields, parse_list, select
from om_graph.tmf.tmf620 import catalog_mapping as mapping


def _folded(value: str) -> str:
    return value.casefold()


_COMMON = {
    "id": Filterable("id"),
    "name": Filterable("name"),
    "lifecycleStatus": Filterable("lifecycleStatus", _folded),  # Active or active
}
OFFERING_FILTERS = {**_COMMON, "productSpecification.id": Filterable("productSpecification.id")}
SPECIFICATION_FILTERS = {**_COMMON, "version": Filterable("version")}
PRICE_FILTERS = {**_COMMON, "priceType": Filterable("priceType")}

Reader = Callable[[Call], Awaitable[list[dict[str, Any]]]]


def hrefs(call: Call) -> mapping.Hrefs:
    return mapping.Hrefs(lambda resource, key: api_href(call, call.base, resource, key))


async def offerings(call: Call) -> list[dict[str, Any]]:
    rows = await call.run(call.services.queries.offerings, call.actor)
    registry, links = call.services.registry, hrefs(call)
    return [mapping.offering(row, registry, links) for row in rows]


async def specifications(call: Call) -> list[dict[str, Any]]:
    rows = await call.run(call.services.queries.offerings, call.actor)
    registry, links = call.services.registry, hrefs(call)
    keys = sorted({row.product_spec_key for row in rows} & set(registry.specifications))
    return [mapping.specification(registry.specifications[key], registry, links) for key in keys]


async def prices(call: Call) -> list[dict[str, Any]]:
    lists = visible_price_lists(call.actor, call.services.registry.price_lists)
    return mapping.prices(lists, hrefs(call))


def listing(read: Reader, filters: Mapping[str, Filterable]) -> Callable[[Call], Awaitable[Response]]:
    async def get_list(call: Call) -> Response:
        query = parse_list(call.request.query_params, filters)
        found = matching(await read(call), query.criteria, filters)
        page = found[query.offset : query.offset + query.limit]
        return list_response([select(r, query.fields, mapping.ALWAYS) for r in page], len(found))

    return get_list


def by_id(read: Reader, what: str) -> Callable[[Call], Awaitable[Response]]:
    async def get_one(call: Call) -> Response:
        fields = parse_fields(call.request.query_params)
        wanted = str(call.request.path_params["id"])
        found = next((r for r in await read(call) if r["id"] == wanted), None)
        if found is None:
            raise TmfError(404, "NOT_FOUND", f"no {what} {wanted!r}")
        return JSONResponse(select(found, fields, mapping.ALWAYS))

    return get_one


offering_list, offering_one = listing(offerings, OFFERING_FILTERS), by_id(offerings, "product offering")
specification_list = listing(specifications, SPECIFICATION_FILTERS)
specification_one = by_id(specifications, "product specification")
price_list, price_one = listing(prices, PRICE_FILTERS), by_id(prices, "product offering price")
