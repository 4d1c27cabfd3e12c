"""A validated cache of order-detail responses.

A live workspace reads the same orders again and again: dashboards poll, agents refresh, a
subscription tells every open screen to re-read the order that just changed. Executing such a read
means loading the order's rows and completing every requested field; answering it again from a
cache means one indexed read of the order's change_seq.

What is cached: the exact response of a query whose root fields are all ``order(id: …)`` (aliases
allowed), when it carries no errors. The key is the request (document, operation name, variables),
the response's media type and what shapes the answer for the asker: their permissions (field
rules) and account (row scoping).

The key is derived before strawberry parses and validates the document, so the document is
untrusted here: anything this module does not recognise as a plain order read is simply not
cacheable and goes to the executor, which answers it (with its validation errors if need be).

Why it is never stale: every transaction that writes something an order's detail shows bumps that
order's change_seq (``UnitOfWork``); an entry remembers the change_seqs read *before* the response was
computed and is served only while they are all unchanged. A write racing the computation leaves the
entry older than the rows it may contain, so it is discarded on the next read, never served stale.
Each server process keeps its own entries and validates them against the shared database, so this
holds with several processes too.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
    parse,
)
from strawberry import relay

from om_graph.core.kernel.ids import key_number
from om_graph.schema.limits import MAX_TOKENS
from om_graph.transport.request_body import GraphQLParams

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
    change_seqs: tuple[tuple[int, int | None], ...]  # (order id, change_seq or None when missing)
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


def _footprint(key: tuple, entry: Entry) -> int:
    """Bytes an entry holds: the response, the document and variables in its key, bookkeeping."""
    return len(entry.body) + len(key[0]) + len(key[2]) + 300


def _order_id(raw) -> int | None:
    """The row id of an Order global id; None for anything else (the executor answers it)."""
    if not isinstance(raw, str):
        return None
    try:
        gid = relay.GlobalID.from_id(raw)
    except Exception:
        return None
    return key_number(gid.node_id) if gid.type_name == "Order" else None


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
    # graphql-core leaves absent lists as None or empty tuples depending on the node: read them
    # all through `or ()`.
    for selection in operations[0].selection_set.selections or ():
        if not isinstance(selection, FieldNode) or selection.directives or selection.name.value != CACHEABLE_ROOT:
            return None
        arguments = selection.arguments or ()
        if len(arguments) != 1 or arguments[0].name.value != "id":
            return None  # a missing, repeated or unknown argument: the executor reports it
        value = arguments[0].value
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

    def request_key(self, params: GraphQLParams, actor, media_type: str) -> tuple[tuple, tuple[int, ...]] | None:
        """(cache key, order ids read) for a cacheable request, else None. ``params`` have been
        type-checked (``transport.request_body``), nothing else: the document is unparsed."""
        query, operation_name = params.query, params.operation_name
        variables = params.variables or {}
        if query is None or params.extensions:
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
        try:
            canonical = json.dumps(variables, sort_keys=True, separators=(",", ":"))
        except (ValueError, RecursionError):  # variables nested deeper than the interpreter's stack
            return None
        key = (query, operation_name, canonical, media_type, actor.permissions, actor.account_id)
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

    def get(self, key: tuple, change_seqs: tuple[tuple[int, int | None], ...]) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry.change_seqs != change_seqs:
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
