"""The fallout queue and its dashboard counts (merged into ``Query`` by ``schema.build``)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

import strawberry

from om_graph.core.fulfilment.fallout import FalloutFilter
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.reads.error_codes import ReadsErrorCode
from om_graph.schema.context import Info
from om_graph.schema.input_conversion import prepared_input
from om_graph.schema.types.common import PageInfo
from om_graph.schema.types.fallout import Fallout, FalloutConnection, FalloutCount, FalloutEdge, FalloutState


def encode_cursor(priority: int, fallout_id: int) -> str:
    return base64.urlsafe_b64encode(f"f:{priority}:{fallout_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        tag, priority, fallout_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        if tag != "f":
            raise ValueError(tag)
        return int(priority), int(fallout_id)
    except (ValueError, UnicodeError, binascii.Error):
        raise ValidationFailed.single("after", "not a cursor of this queue", ReadsErrorCode.INVALID_CURSOR) from None


@prepared_input
@strawberry.input(description="Which records: every condition given must hold. No states: the open ones.")
class FalloutFilterInput:
    states: list[FalloutState] | None = None
    types: list[str] | None = None
    priorities: list[int] | None = None
    assignee: str | None = strawberry.field(default=None, description="A person; see also mine.")
    mine: bool = strawberry.field(default=False, description="Only records assigned to me.")
    assignment_group: str | None = None
    older_than: datetime | None = strawberry.field(default=None, description="Created before this moment.")
    newer_than: datetime | None = strawberry.field(default=None, description="Created after this moment.")


def to_filter(info: Info, where: FalloutFilterInput | None) -> FalloutFilter:
    if where is None:
        return FalloutFilter()
    if where.mine and where.assignee is not None:
        raise ValidationFailed.single("filter.assignee", "give assignee or mine, not both", CommonErrorCode.INVALID)
    if len(where.types or ()) > 20 or len(where.priorities or ()) > 5:
        raise ValidationFailed.single("filter", "at most 20 types and 5 priorities", CommonErrorCode.TOO_MANY)
    return FalloutFilter(
        states=tuple(s.value for s in where.states or ()),
        types=tuple(where.types or ()),
        priorities=tuple(where.priorities or ()),
        assignee=info.context.acting.label if where.mine else where.assignee,
        assignment_group=where.assignment_group,
        older_than=_naive(where.older_than),
        newer_than=_naive(where.newer_than),
    )


def _naive(moment: datetime | None) -> datetime | None:
    """Stored times are naive UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@strawberry.type
class FalloutQueries:
    @strawberry.field(
        description=(
            "The fallout queue: highest priority (1) first, then oldest; at most 100 per page. Keyset paged: pass "
            "the last page's endCursor as after. Staff only."
        )
    )
    async def fallouts(
        self,
        info: Info,
        filter: FalloutFilterInput | None = None,
        first: int = 50,
        after: Annotated[str | None, strawberry.argument(description="endCursor of the previous page.")] = None,
    ) -> FalloutConnection:
        ctx = info.context

        def call():
            cursor = decode_cursor(after) if after else None
            return ctx.services.fallout.queue(ctx.acting, to_filter(info, filter), first=first, after=cursor)

        rows, has_next = await ctx.call(call)
        edges = [FalloutEdge(cursor=encode_cursor(r.priority, r.id), node=Fallout.from_row(r)) for r in rows]
        return FalloutConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(
        description=(
            "Records by state, type and priority, a dashboard: those fallouts(filter) lists, so the open ones "
            "unless filter.states names others."
        )
    )
    async def fallout_counts(self, info: Info, filter: FalloutFilterInput | None = None) -> list[FalloutCount]:
        ctx = info.context

        def call():
            return ctx.services.fallout.counts(ctx.acting, to_filter(info, filter) if filter is not None else None)

        return [FalloutCount.from_row(*row) for row in await ctx.call(call)]
