"""Every limit of the API in one place (docs/security.md's table is checked against these
names), plus the document limiters' rules and the introspection check (applied by
schema/pipeline.py).

Some numbers are the core's own rules, re-exported here so that one module lists them all.
"""

from __future__ import annotations

from graphql import DocumentNode, FieldNode, visit
from graphql.language import Visitor
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from om_graph.core.catalog.definitions import DEFAULT_STRING_MAX_LENGTH, STRING_MAX_LENGTH_CEILING  # noqa: F401 (listed here)
from om_graph.core.ordering import commands
from om_graph.core.ordering.input_rules import MAX_CHARACTERISTIC_NAME_LENGTH, MAX_KEY_LENGTH  # noqa: F401 (listed here)
from om_graph.core.ordering.validation import (  # noqa: F401 (listed here)
    MAX_CUSTOMER_ID_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_IDEMPOTENCY_KEY_LENGTH,
)
from om_graph.core.reads.queries import MAX_PAGE  # noqa: F401 (listed here)

# Transport (enforced in app.py)
MAX_BODY_BYTES = 1_000_000
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20

# Documents
MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000

# List inputs
MAX_ORDER_LINES = commands.MAX_LINES
MAX_LINE_CHARACTERISTICS = commands.MAX_CHARACTERISTICS
MAX_STATE_FILTERS = 20  # orders(states:); there are 12 order states

# String inputs, in characters
MAX_ID_LENGTH = 100  # any ID argument or input field (issued ids are about 20)
MAX_CURSOR_LENGTH = 100
# offering keys, characteristic names: the core's (ordering/input_rules.py)
# customerId, description, externalId, idempotencyKey: the core's MAX_*_LENGTH above.
# A characteristic string value: its specification's maxLength, DEFAULT_STRING_MAX_LENGTH when
# it declares none, never more than STRING_MAX_LENGTH_CEILING.


class _IntrospectionFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_field(self, node: FieldNode, *_):
        if node.name.value in ("__schema", "__type"):
            self.found = True
            return self.BREAK
        return None


def asks_for_introspection(document: DocumentNode) -> bool:
    """Whether a document selects ``__schema`` or ``__type`` anywhere (refused unless the
    request's context allows introspection: schema/pipeline.py, after validation)."""
    finder = _IntrospectionFinder()
    visit(document, finder)
    return finder.found


# The limiters build their validation rule classes when constructed. Building them once keeps
# the rules identical across requests, which the validation cache needs to hit (a fresh rule
# class per request would make every request re-validate its document). schema/pipeline.py adds
# them to every operation's rules and sets MAX_TOKENS as the parser's bound.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]
