"""graphql-transport-ws as the server speaks it: strawberry's handler, given only messages of the
protocol's shape, and a socket adapter that drops sends after the server closed the socket."""

from __future__ import annotations

from graphql import GraphQLSyntaxError, parse
from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from om_graph.schema.context import Context
from om_graph.schema.limits import MAX_TOKENS


class WebSocketAdapter(ASGIWebSocketAdapter):
    """Drops what a subscription sends after the server closed the socket (a revoked credential)
    instead of strawberry logging the failed send as an error."""

    async def send_json(self, message) -> None:
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return
        await super().send_json(message)


def _ws_message_problem(message) -> str | None:
    """Why a decoded graphql-transport-ws message is not one the protocol defines (None if it
    is): the protocol closes the socket with 4400 for such a message. Checked before strawberry's
    handler reads it, which assumes an object with a string ``type`` and ``id``."""
    if not isinstance(message, dict):
        return "Invalid message received: not a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "Invalid message received: 'type' must be a string"
    if "id" in message and not isinstance(message["id"], str):
        return "Invalid message received: 'id' must be a string"
    if kind in ("subscribe", "complete") and "id" not in message:
        return f"Invalid message received: a {kind} message needs an 'id'"
    if kind == "subscribe":
        payload = message.get("payload")
        if not isinstance(payload, dict):
            return "Invalid message received: a subscribe message's 'payload' must be an object"
        if not isinstance(payload.get("query"), str):
            return "Invalid message received: a subscribe payload's 'query' must be a string"
        for name, kinds, described in (
            ("variables", dict, "an object"),
            ("operationName", str, "a string"),
            ("extensions", dict, "an object"),
        ):
            if payload.get(name) is not None and not isinstance(payload[name], kinds):
                return f"Invalid message received: a subscribe payload's '{name}' must be {described} or null"
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, given only messages of the protocol's shape
    (anything else closes the socket with 4400, rather than raising out of the handler), and
    answering a subscribe whose document does not parse with an ``error`` message carrying the
    syntax error (the schema's document cache, schema/pipeline.py, raises it out of the operation's task,
    which then completes the operation without an error and logs a crash)."""

    async def handle_message(self, message) -> None:
        problem = _ws_message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message) -> None:
        # Strawberry's own refusals first (not acknowledged 4401, a duplicate id 4409, the
        # subscription limit); only a subscribe it would run is parsed here.
        at_limit = (
            self.max_subscriptions_per_connection is not None and len(self.operations) >= self.max_subscriptions_per_connection
        )
        if self.connection_acknowledged and message["id"] not in self.operations and not at_limit:
            try:
                parse(message["payload"]["query"], max_tokens=MAX_TOKENS)
            except GraphQLSyntaxError as error:
                await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
                return
        await super().handle_subscribe(message)
