"""Per-instruction results as the ledger takes them, read from a CSV or JSON file, and the answers merged.

The CSV has the reconciliation file's columns, so a bank can send the same export either way. Only
what the request needs is checked here (columns present, an instruction named); the amount, the
reason codes and the rest are the ledger's to judge, and its answer names the field and the rule.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

# The ledger's limit per request (POST /results); a longer file goes in several, in order.
MAX_PER_REQUEST = 1000
COLUMNS = ("instruction_id", "bank_reference", "value_date", "amount", "currency", "outcome", "reason_code")
REQUIRED_COLUMNS = ("instruction_id", "bank_reference", "value_date", "amount", "outcome")
COUNTS = ("results", "applied", "failed", "duplicates", "exceptions")
AMOUNTS = ("applied_amount", "suspense_amount")


class InputInvalid(Exception):
    """The input cannot be sent; `errors` are {"line" (in a CSV), "field", "rule", "message"}."""

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


def result(instruction_id: str, outcome: str, *, amount: str, bank_reference: str, value_date: str,
           currency: str = "CNY", reason_code: str | None = None) -> dict[str, Any]:
    """One result as the ledger's POST /results takes it (amount as a decimal string, never a float)."""
    return {"instruction_id": instruction_id, "outcome": outcome, "amount": amount, "currency": currency,
            "reason_code": reason_code or None, "bank_reference": bank_reference, "value_date": value_date}


def read_results(path: Path, file_format: str | None = None) -> list[dict[str, Any]]:
    """The results of a `.csv` or `.json` file (or `file_format`), in file order."""
    kind = file_format or path.suffix.lstrip(".").lower()
    if kind == "csv":
        return _from_csv(path)
    if kind == "json":
        return _from_json(path)
    raise InputInvalid(f"{path.name}: say --format csv or json (the name does not tell)", [
        {"field": "format", "rule": "one_of", "message": "one of: csv, json"}])


def _from_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as f:  # a BOM from a spreadsheet export is not a column
        rows = csv.reader(f)
        header = [name.strip() for name in next(rows, [])]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise InputInvalid(f"{path.name}: the header line lacks {', '.join(missing)}", [
                {"line": 1, "field": name, "rule": "required_column", "message": "a required column"}
                for name in missing])
        results, errors = [], []
        for line, row in enumerate(rows, start=2):  # lines counted from the header as 1, as the ledger counts
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                errors.append({"line": line, "field": "line", "rule": "field_count",
                               "message": f"{len(row)} fields where the header has {len(header)}"})
                continue
            cells = {name: cell.strip() for name, cell in zip(header, row, strict=True)}
            if not cells["instruction_id"]:
                errors.append({"line": line, "field": "instruction_id", "rule": "required", "message":
                               "a result names the instruction it answers (a line without one goes in the "
                               "reconciliation file)"})
                continue
            results.append(result(cells["instruction_id"], cells["outcome"], amount=cells["amount"],
                                  bank_reference=cells["bank_reference"], value_date=cells["value_date"],
                                  currency=cells.get("currency") or "CNY", reason_code=cells.get("reason_code")))
    if errors:
        raise InputInvalid(f"{path.name}: {len(errors)} line(s) cannot be sent; nothing was sent", errors)
    if not results:
        raise InputInvalid(f"{path.name}: no results", [{"line": 2, "field": "line", "rule": "required",
                                                       "message": "no result lines"}])
    return results


def _from_json(path: Path) -> list[dict[str, Any]]:
    try:
        # Amounts parsed as Decimal, so a number like 3600.10 goes on as the bank wrote it.
        document = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except ValueError as exc:
        raise InputInvalid(f"{path.name} is not JSON: {exc}", [
            {"field": "body", "rule": "json", "message": str(exc)}]) from None
    items = document.get("results") if isinstance(document, dict) else document
    if not isinstance(items, list) or not items:
        raise InputInvalid(f"{path.name}: a list of results, or an object with one under \"results\"", [
            {"field": "results", "rule": "non_empty_list", "message": "a non-empty list"}])
    bad = [n for n, item in enumerate(items) if not isinstance(item, dict)]
    if bad:
        raise InputInvalid(f"{path.name}: every result is an object", [
            {"field": f"results[{n}]", "rule": "object", "message": "an object"} for n in bad])
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in item.items()} for item in items]


def requests_of(results: list[dict[str, Any]]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(offset of the first, results) per request, in order."""
    for start in range(0, len(results), MAX_PER_REQUEST):
        yield start, results[start:start + MAX_PER_REQUEST]


def merged(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The ledger's reports of several requests as one: counts and amounts added, items in order."""
    if len(reports) == 1:
        return reports[0]
    total: dict[str, Any] = {name: sum(int(r[name]) for r in reports) for name in COUNTS}
    total.update({name: str(sum((Decimal(str(r[name])) for r in reports), Decimal(0))) for name in AMOUNTS})
    total["items"] = [item for r in reports for item in r["items"]]
    return total


def lines_without_instruction(path: Path) -> list[int]:
    """Lines of a reconciliation file that name no instruction: the ledger cannot match them and holds
    their money for finance. Counted as the ledger counts (the header is line 1)."""
    found = []
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if line > 1 and any(cell.strip() for cell in row) and not row[0].strip():
                found.append(line)
    return found
