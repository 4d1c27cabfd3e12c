"""``om-graph import FILE``: orders from third-party systems, in bulk.

Two formats, told apart by the file's extension:

- **TMF622 JSON lines** (``.jsonl``, ``.ndjson``, ``.json``): one ``ProductOrder_Create`` per line,
  exactly what ``POST /productOrder`` takes (docs/tmf.md).
- **CSV of order lines** (``.csv``): a header row, then one row per order line; consecutive rows
  with the same ``externalId`` are one order. Columns: ``externalId`` (required), ``customerId``,
  ``offering``, ``quantity``, ``action``, ``productId``, ``description``, ``category``,
  ``requestedStartDate``, ``requestedCompletionDate``, ``state`` (``draft`` to import drafts) and
  one ``characteristic.<name>`` per characteristic (a value reading as a JSON number or boolean
  is one; anything else is text; empty is absent). Each row becomes a TMF622 item, so both
  formats go through the same mapping and the same core capture as the REST API.

The file is streamed (memory stays flat in its size) with a progress bar (bytes read, rate, ETA,
orders created and failed). Each order is its own transaction. It is resumable: an order's
``externalId`` is its idempotency key per partner (``--partner``: the same key the partner's
``POST /productOrder`` uses when its token's subject is that name), so running the import again skips the orders already imported. It
never stops on a bad record: each one is written to the report (JSON lines: line number,
``externalId``, the typed errors with TMF paths) and the import goes on; it ends with a summary.
``--dry-run`` validates and prices every order without writing anything.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm  # type: ignore[import-untyped]

from om_graph.core.access.actor import Actor
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import DomainError, FieldError, ValidationFailed
from om_graph.tmf.tmf622.order_mapping import rename, to_order_input
from om_graph.tmf.tmf622.orders import external_key, partner_of

JSON_LINES = (".jsonl", ".ndjson", ".json")
CSV_COLUMNS = (
    "externalId",
    "customerId",
    "offering",
    "quantity",
    "action",
    "productId",
    "description",
    "category",
    "requestedStartDate",
    "requestedCompletionDate",
    "state",
)
CHARACTERISTIC = "characteristic."


@dataclass
class Record:
    line: int  # where it starts in the file (1-based)
    body: dict[str, Any] | None
    problem: str | None = None  # the record could not be read at all


@dataclass
class Summary:
    read: int = 0
    created: int = 0
    skipped: int = 0  # imported before (resumed)
    failed: int = 0
    valid: int = 0  # --dry-run
    seconds: float = 0.0
    report: str | None = None
    errors_by_code: dict[str, int] = field(default_factory=dict)

    def lines(self, dry_run: bool) -> list[str]:
        rate = self.read / self.seconds if self.seconds > 0 else 0.0
        done = f"{self.valid} valid" if dry_run else f"{self.created} created, {self.skipped} already imported"
        out = [f"{self.read} orders read: {done}, {self.failed} failed ({self.seconds:.1f} s, {rate:.0f} orders/s)"]
        if self.errors_by_code:
            out.append("errors: " + ", ".join(f"{code} {n}" for code, n in sorted(self.errors_by_code.items())))
        if self.report and self.failed:
            out.append(f"report: {self.report}")
        return out


def records(stream: IO[str], name: str) -> Iterator[Record]:
    if name.lower().endswith(".csv"):
        yield from _csv_records(stream)
    else:
        yield from _json_records(stream)


def _json_records(stream: IO[str]) -> Iterator[Record]:
    for number, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as bad:
            yield Record(number, None, f"not JSON: {bad.msg} (column {bad.colno})")
            continue
        if not isinstance(body, dict):
            yield Record(number, None, "not a JSON object")
            continue
        yield Record(number, body)


def _csv_records(stream: IO[str]) -> Iterator[Record]:
    reader = csv.DictReader(stream)
    unknown = [c for c in reader.fieldnames or () if c not in CSV_COLUMNS and not c.startswith(CHARACTERISTIC)]
    if unknown or "externalId" not in (reader.fieldnames or ()):
        problem = f"unknown columns {unknown}" if unknown else "an externalId column is required"
        yield Record(1, None, f"the header: {problem}")
        return
    current: dict[str, Any] | None = None
    start = 0
    for row in reader:
        line = reader.line_num
        external = (row.get("externalId") or "").strip()
        if current is not None and current.get("externalId") == external and external:
            current["productOrderItem"].append(_item(row, len(current["productOrderItem"]) + 1))
            continue
        if current is not None:
            yield Record(start, current)
        start, current = line, _order(row)
    if current is not None:
        yield Record(start, current)


def _order(row: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"productOrderItem": [_item(row, 1)]}
    for column in ("externalId", "description", "category", "requestedStartDate", "requestedCompletionDate", "state"):
        if row.get(column):
            body[column] = row[column]
    if row.get("customerId"):
        body["relatedParty"] = [{"id": row["customerId"], "role": "customer", "@referredType": "Customer"}]
    return body


def _item(row: dict[str, str], number: int) -> dict[str, Any]:
    item: dict[str, Any] = {"id": str(number), "action": row.get("action") or "add"}
    if row.get("quantity"):
        item["quantity"] = _scalar(row["quantity"])
    if row.get("offering"):
        item["productOffering"] = {"id": row["offering"]}
    product: dict[str, Any] = {}
    if row.get("productId"):
        product["id"] = row["productId"]
    characteristics = [
        {"name": column[len(CHARACTERISTIC) :], "value": _scalar(value)}
        for column, value in row.items()
        if column and column.startswith(CHARACTERISTIC) and value not in (None, "")
    ]
    if characteristics:
        product["productCharacteristic"] = characteristics
    if product:
        item["product"] = product
    return item


def _scalar(value: str) -> Any:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return value
    return parsed if isinstance(parsed, (int, float, bool)) else value


class Importer:
    """Imports records through the ordering service as ``actor`` (docstring above)."""

    def __init__(self, services: Any, actor: Actor, *, dry_run: bool = False):
        self.services, self.actor, self.dry_run = services, actor, dry_run
        self.partner = partner_of(actor)

    def run(self, path: Path, report_path: Path, *, progress: bool = True) -> Summary:
        summary = Summary(report=str(report_path))
        started = time.perf_counter()
        size = path.stat().st_size
        with (
            path.open("rb") as raw,
            io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as text,
            report_path.open("w", encoding="utf-8") as report,
            tqdm(total=size, unit="B", unit_scale=True, desc=path.name, disable=not progress, mininterval=0.5) as bar,
        ):
            position = 0
            for record in records(text, path.name):
                summary.read += 1
                errors = self._one(record, summary)
                if errors:
                    summary.failed += 1
                    for error in errors:
                        summary.errors_by_code[error["code"]] = summary.errors_by_code.get(error["code"], 0) + 1
                    external = record.body.get("externalId") if record.body else None
                    report.write(json.dumps({"line": record.line, "externalId": external, "errors": errors}) + "\n")
                now = raw.tell()
                bar.update(now - position)
                position = now
                bar.set_postfix(created=summary.created, skipped=summary.skipped, failed=summary.failed, refresh=False)
        summary.seconds = time.perf_counter() - started
        return summary

    def _one(self, record: Record, summary: Summary) -> list[dict[str, str]]:
        if record.body is None:
            return [{"field": "", "code": CommonErrorCode.INVALID, "message": record.problem or "unreadable"}]
        body = record.body
        try:
            data, submit = to_order_input(body, self.actor.account_id, external_key(self.partner, body.get("externalId")))
            if not data.external_id:
                raise ValidationFailed(
                    [FieldError("externalId", "required: it makes the import resumable", CommonErrorCode.REQUIRED)]
                )
            if self.dry_run:
                self.services.orders.validate(self.actor, data)
                summary.valid += 1
            elif self.services.orders.captured_before(self.actor, data) is not None:
                summary.skipped += 1
            else:
                self.services.orders.create(self.actor, data, submit=submit)
                summary.created += 1
        except DomainError as refused:
            return [{"field": rename(e.field), "code": str(e.code), "message": e.message} for e in refused.errors]
        return []
