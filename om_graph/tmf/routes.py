"""The TMF Open API facade's routes, mounted by app.py under ``/tmf-api`` (docs/tmf.md lists them).

Each API is a base path and its resources; every handler is thin over the core services (the
same permissions and account scoping as GraphQL: a customer's token sees its own account only,
another account's ids are 404)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from om_graph.runtime import Runtime
from om_graph.tmf.apis import PRODUCT_CATALOG, PRODUCT_INVENTORY, PRODUCT_ORDERING
from om_graph.tmf.http import ALL_METHODS, not_found, route
from om_graph.tmf.tmf620 import catalog
from om_graph.tmf.tmf622 import cancels, hub, order_mapping, orders
from om_graph.tmf.tmf637 import products

TMF622 = PRODUCT_ORDERING
TMF637 = PRODUCT_INVENTORY
TMF620 = PRODUCT_CATALOG


def tmf_routes(runtime: Runtime) -> list[BaseRoute]:
    rename = order_mapping.rename
    return [
        route(runtime, TMF622, "/productOrder", {"GET": orders.get_list, "POST": orders.create}, rename=rename),
        route(
            runtime,
            TMF622,
            "/productOrder/{id}",
            {"GET": orders.get_one, "PATCH": orders.patch, "DELETE": orders.delete},
            rename=rename,
        ),
        route(runtime, TMF622, "/cancelProductOrder", {"GET": cancels.get_list, "POST": cancels.create}, rename=cancels.rename),
        route(runtime, TMF622, "/cancelProductOrder/{id}", {"GET": cancels.get_one}, rename=cancels.rename),
        route(runtime, TMF622, "/hub", {"POST": hub.register}),  # the event hub (core/notification/hub.py)
        route(runtime, TMF622, "/hub/{id}", {"GET": hub.get_one, "DELETE": hub.unregister}),
        route(runtime, TMF637, "/product", {"GET": products.get_list}),
        route(runtime, TMF637, "/product/{id}", {"GET": products.get_one}),
        route(runtime, TMF620, "/productOffering", {"GET": catalog.offering_list}),
        route(runtime, TMF620, "/productOffering/{id}", {"GET": catalog.offering_one}),
        route(runtime, TMF620, "/productSpecification", {"GET": catalog.specification_list}),
        route(runtime, TMF620, "/productSpecification/{id}", {"GET": catalog.specification_one}),
        route(runtime, TMF620, "/productOfferingPrice", {"GET": catalog.price_list}),
        route(runtime, TMF620, "/productOfferingPrice/{id}", {"GET": catalog.price_one}),
        Route("/tmf-api/{rest:path}", not_found, methods=list(ALL_METHODS)),
    ]
