"""The reference: a plain Starlette app served by uvicorn exactly as ``om-graph serve`` serves the
real one (``uvicorn.run(app, host, port, log_level)``, so the same loop, HTTP parser and logging).

``POST/GET /noop`` reads the body and answers ``{}``; ``POST/GET /json`` reads the body and
answers a fixed JSON document (loaded from ``--json PATH`` at start, serialised per request as any
endpoint would), e.g. a captured order detail response so size and shape are equal.
"""

from __future__ import annotations

import argparse
import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAYLOAD: object = json.loads(open(os.environ["BENCH_REFERENCE_JSON"]).read()) if os.environ.get("BENCH_REFERENCE_JSON") else {}


async def noop(request: Request) -> Response:
    await request.body()
    return Response(b"{}", media_type="application/json")


async def fixed_json(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse(PAYLOAD)


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/noop", noop, methods=["GET", "POST"]),
        Route("/json", fixed_json, methods=["GET", "POST"]),
        Route("/health", health),
    ]
)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="bench.reference_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
