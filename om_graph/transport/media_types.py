"""Media types of GraphQL over HTTP: what a request body may be, and which response type to send.

Requests: only ``application/json`` (matched exactly, case-insensitively, after parsing the header,
so ``application/json-patch+json`` is refused), optionally with ``charset=utf-8``.

Responses (the GraphQL over HTTP spec's Accept negotiation): ``application/graphql-response+json``,
whose status codes tell request errors (400) from executed operations (200), or
``application/json``, the legacy type, always 200 for an executed request. Without an Accept header
or when the client weighs both alike (``*/*``) the answer is ``application/json``, as the spec
recommends for compatibility.
"""

from __future__ import annotations

from email.message import Message

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_SERVER_PREFERENCE = (JSON, GRAPHQL_RESPONSE)  # on a tie, the earlier one wins


def request_body_problem(content_type: str | None) -> str | None:
    """Why a request body of this Content-Type is refused (answered 415), or None when it is JSON."""
    if not content_type:
        return "a Content-Type header is required: application/json"
    header = Message()
    header["content-type"] = content_type
    if header.get_content_type() != JSON:  # lower-cased; an unparseable value reads as text/plain
        return f"unsupported Content-Type {content_type!r}: send application/json"
    charset = header.get_content_charset()
    if charset not in (None, "utf-8", "utf8"):
        return f"unsupported charset {charset!r}: send UTF-8"
    return None


def response_media_type(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when it accepts neither (406)."""
    if accept is None or not accept.strip():
        return JSON
    ranges = list(_media_ranges(accept))
    best, best_rank = None, None
    for preference, media_type in enumerate(_SERVER_PREFERENCE):
        matched = _matching_range(media_type, ranges)
        if matched is None or matched[2] <= 0:
            continue
        position, _, quality = matched
        rank = (quality, -position, -preference)
        if best_rank is None or rank > best_rank:
            best, best_rank = media_type, rank
    return best


def _media_ranges(accept: str):
    """(position, "type/subtype", quality) for each well-formed range of an Accept header."""
    for position, item in enumerate(accept.split(",")):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        kind, slash, subtype = media_range.lower().partition("/")
        if not slash or not kind or not subtype:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        yield position, f"{kind}/{subtype}", quality


def _matching_range(media_type: str, ranges: list[tuple[int, str, float]]):
    """The most specific range that matches (exact beats ``type/*`` beats ``*/*``), as the HTTP
    semantics say; None when none does."""
    kind = media_type.split("/", 1)[0]
    for candidate in (media_type, f"{kind}/*", "*/*"):
        matches = [r for r in ranges if r[1] == candidate]
        if matches:
            return matches[0]
    return None
