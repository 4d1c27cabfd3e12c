"""A validated cache of order-detail responses.

A live workspace reads the same orders again and again: dashboards poll, agents refresh, a
subscription tells every open screen to re-read the order that just changed. Executing such a read
means loading the order's rows and completing every requested field; answering it again from a
cache means one indexed read of the order's revision.

What is cached: the exact response of a query whose root fields are all ``order(id: …)`` (aliases
allowed), when it carries no errors. The key is the request (document, operation name, variables)
and what shapes the answer for the asker: their permissions (field rules) and account (row scoping).

Why it is never stale: every transaction that writes something an order's detail shows bumps that
order's revision (``UnitOfWork``); an entry remembers the revisions read *before* the response was
computed and is served only while they are all unchanged. A write racing the computation leaves the
entry older than the rows it may contain, so it is discarded on the next read, never served stale.
Each server process keeps its own entries and validates them against the shared database, so this
holds with several processes too.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, StringValueNode, VariableNode, parse
from strawberry import relay

from om_graph.schema.limits import MAX_TOKENS

CACHEABLE_ROOT = "order"
_MAX_DOCUMENTS = 256
_MAX_DOCUMENT_CHARS = 20_000  # larger documents go straight to the executor (and its limits)


@dataclass(frozen=True)
class _Root:
    """One root field of a cacheable document: where its order id comes from."""

    literal: str | None = None
    variable: str | None = None


@dataclass(frozen=True)
class Entry:
    revisions: tuple[tuple[int, int | None], ...]  # (order id, revision or None when missing)
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes



def _footprint(key: tuple, entry: Entry) -> int:
    """Bytes an entry holds: the response, the document and variables in its key, bookkeeping."""
    return len(entry.body) + len(key[0]) + len(key[2]) + 300


def _order_id(raw) -> int | None:
    if not isinstance(raw, str):
        return None
    try:
        gid = relay.GlobalID.from_id(raw)
        return int(gid.node_id) if gid.type_name == "Order" else None
    except Exception:
        return None


def _roots(query: str, operation_name: str | None) -> tuple[_Root, ...] | None:
    """The ``order`` root fields of the selected operation, or None when the document is not a
    plain order read (mutations, other roots, fragments or directives at the root, parse errors)."""
    if len(query) > _MAX_DOCUMENT_CHARS:
        return None
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except (GraphQLError, RecursionError):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return None
    roots = []
    for selection in operations[0].selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.name.value != CACHEABLE_ROOT:
            return None
        arguments = {a.name.value: a.value for a in selection.arguments}
        value = arguments.get("id")
        if isinstance(value, StringValueNode):
            roots.append(_Root(literal=value.value))
        elif isinstance(value, VariableNode):
            roots.append(_Root(variable=value.name.value))
        else:
            return None
    return tuple(roots) or None


class ResponseCache:
    """Least-recently-used entries up to ``max_bytes``. Used from the event loop only."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._documents: OrderedDict[tuple[str, str | None], tuple[_Root, ...] | None] = OrderedDict()
        self.hits = self.misses = 0

    def request_key(self, body: bytes, actor) -> tuple[tuple, tuple[int, ...]] | None:
        """(cache key, order ids read) for a cacheable request body, else None."""
        try:
            request = json.loads(body)
        except ValueError:
            return None
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            return None
        query, operation_name = request["query"], request.get("operationName")
        variables = request.get("variables") or {}
        if not isinstance(variables, dict) or not (operation_name is None or isinstance(operation_name, str)):
            return None
        roots = self._document(query, operation_name)
        if roots is None:
            return None
        ids = []
        for root in roots:
            order_id = _order_id(root.literal if root.variable is None else variables.get(root.variable))
            if order_id is None:
                return None  # let the executor answer the malformed id
            ids.append(order_id)
        canonical = json.dumps(variables, sort_keys=True, separators=(",", ":"))
        key = (query, operation_name, canonical, actor.permissions, actor.account_id)
        return key, tuple(sorted(set(ids)))

    def _document(self, query: str, operation_name: str | None) -> tuple[_Root, ...] | None:
        doc_key = (query, operation_name)
        if doc_key in self._documents:
            self._documents.move_to_end(doc_key)
            return self._documents[doc_key]
        roots = _roots(query, operation_name)
        self._documents[doc_key] = roots
        if len(self._documents) > _MAX_DOCUMENTS:
            self._documents.popitem(last=False)
        return roots

    def get(self, key: tuple, revisions: tuple[tuple[int, int | None], ...]) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry.revisions != revisions:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: tuple, entry: Entry) -> None:
        if _footprint(key, entry) > self.max_bytes // 8:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= _footprint(key, old)
        self._entries[key] = entry
        self._bytes += _footprint(key, entry)
        while self._bytes > self.max_bytes:
            evicted_key, evicted = self._entries.popitem(last=False)
            self._bytes -= _footprint(evicted_key, evicted)

    def __len__(self) -> int:
        return len(self._entries)
