"""`partner-bank`: a partner bank's side of auto-debit, from the command line.

Answers are printed as JSON on stdout. An error prints its problem+json on stderr and exits non-zero:
1 the gateway or ledger refused the request (fix it, do not resend as is); 2 bad arguments or input
file (nothing was sent); 3 no answer, a server error or too many requests (sending again is safe:
results and files take effect once).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from partner_bank_client import results as results_io
from partner_bank_client.client import Body, Credentials, PartnerBankClient, Refused, Unanswered
from svckit import partner_signing

EXIT_OK, EXIT_REFUSED, EXIT_INPUT, EXIT_UNANSWERED = 0, 1, 2, 3
OUTCOMES = ("success", "failure")
PAGE_SIZE = 500  # the largest page the ledger gives


def _print_json(value: Any, stream: TextIO) -> None:
    stream.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _input_problem(detail: str, errors: list[dict[str, Any]], code: str = "input_invalid") -> dict[str, Any]:
    """A local refusal, in the same problem+json shape as the server's (no status: nothing was sent)."""
    return {"type": "about:blank", "title": "Input cannot be sent", "code": code, "detail": detail,
            "errors": errors}


# --- commands: each takes the parsed arguments and a client, and returns what to print ---------------------

def batches(args: argparse.Namespace, client: PartnerBankClient) -> Any:
    statuses = ("ready", "acknowledged") if args.status == "all" else (args.status,)
    # The ledger lists one status at a time; "all" is both.
    return [batch for status in statuses for batch in client.call("GET", "/batches", params={"status": status})]


def instructions(args: argparse.Namespace, client: PartnerBankClient) -> Any:
    """Every instruction of the batch, page after page."""
    found: list[Any] = []
    cursor: str | None = None
    while True:
        params = {"limit": str(PAGE_SIZE), **({"cursor": cursor} if cursor else {})}
        page = client.call("GET", f"/batches/{args.batch_id}/instructions", params=params)
        found.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def acknowledge(args: argparse.Namespace, client: PartnerBankClient) -> Any:
    return client.call("POST", f"/batches/{args.batch_id}/acknowledgement")


def send_result(args: argparse.Namespace, client: PartnerBankClient) -> Any:
    one = results_io.result(args.instruction_id, args.outcome, amount=args.amount, bank_reference=args.reference,
                            value_date=args.value_date, currency=args.currency, reason_code=args.reason)
    return _send(client, [one])


def send_results(args: argparse.Namespace, client: PartnerBankClient) -> Any:
    return _send(client, results_io.read_results(args.file, args.format))


def _send(client: PartnerBankClient, items: list[dict[str, Any]]) -> Any:
    reports: list[dict[str, Any]] = []
    for offset, chunk in results_io.requests_of(items):
        try:
            reports.append(client.call("POST", "/results", body=Body.of_json({"results": chunk})))
        except Refused as refused:
            # `results[i]` in the ledger's answer counts within this request; say where it starts in the input,
            # and what the requests before it did (they took effect; sending the whole input again only
            # repeats them as duplicates).
            refused.problem["results_sent_before"] = offset
            if reports:
                refused.problem["report_of_those_sent"] = results_io.merged(reports)
            raise
    report = results_io.merged(reports)
    print(f"results: {report['results']}, applied {report['applied']}, failed {report['failed']}, "
          f"duplicates {report['duplicates']}, held for finance {report['exceptions']}", file=sys.stderr)
    return report


def upload_reconciliation(args: argparse.Namespace, client: PartnerBankClient) -> Any:
    path: Path = args.file
    report = client.call("POST", "/reconciliation-files", params={"file_date": args.date},
                         body=Body.of_file(path, "text/csv"))
    # Added by this client: the lines the ledger could not match for want of an instruction id. Their
    # money, and that of lines naming an instruction never sent, is counted under `exceptions`.
    report["lines_without_instruction"] = results_io.lines_without_instruction(path)
    print(f"file {report['file_id']} of {report['file_date']}: {report['lines']} lines, applied "
          f"{report['applied']}, failed {report['failed']}, duplicates {report['duplicates']}, held for finance "
          f"{report['exceptions']} (suspense {report['suspense_amount']})"
          + (" — already sent before, nothing changed" if report.get("replayed") else ""), file=sys.stderr)
    return report


def sign_only(args: argparse.Namespace, secret: str) -> Any:
    """The signed string and headers for a request, computed here without sending it (to check an implementation)."""
    body_hash = Body.of_file(args.body_file, "").sha256 if args.body_file else partner_signing.EMPTY_BODY_SHA256
    headers = partner_signing.sign(key_id=args.key_id or "", secret=secret, method=args.method, path=args.path,
                                   query=args.query, body_hash=body_hash, timestamp=args.timestamp, nonce=args.nonce)
    canonical = partner_signing.canonical_string(
        method=args.method, path=args.path, query=args.query, timestamp=headers[partner_signing.TIMESTAMP_HEADER],
        nonce=headers[partner_signing.NONCE_HEADER], body_hash=body_hash)
    return {"canonical_string": canonical.split("\n"), "headers": headers}


# --- the command line ------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="partner-bank", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The secret is read from PARTNER_BANK_SECRET or --secret-file, never from an argument "
               "(arguments show in the process list).")
    top.add_argument("--url", default=os.environ.get("PARTNER_BANK_URL", "http://127.0.0.1:8000"),
                     help="the gateway (env PARTNER_BANK_URL)")
    top.add_argument("--key-id", default=os.environ.get("PARTNER_BANK_KEY_ID"),
                     help="the key id, pk_... (env PARTNER_BANK_KEY_ID)")
    top.add_argument("--secret-file", type=Path, help="a file holding the secret (else env PARTNER_BANK_SECRET)")
    top.add_argument("--nonce", help="the first request's nonce, to reproduce a call (default: a new random one)")
    top.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for an answer (600)")
    commands = top.add_subparsers(dest="command", required=True, metavar="command")

    listing = commands.add_parser("batches", help="list the debit batches sent to the bank")
    listing.add_argument("--status", choices=("ready", "acknowledged", "all"), default="ready",
                         help="ready: not yet acknowledged (default)")
    listing.set_defaults(run=batches)

    fetch = commands.add_parser("instructions", help="fetch every debit instruction of a batch")
    fetch.add_argument("batch_id", type=int)
    fetch.set_defaults(run=instructions)

    ack = commands.add_parser("acknowledge", help="say the bank has taken a batch")
    ack.add_argument("batch_id", type=int)
    ack.set_defaults(run=acknowledge)

    one = commands.add_parser("send-result", help="send one instruction's result")
    one.add_argument("instruction_id")
    one.add_argument("outcome", choices=OUTCOMES)
    one.add_argument("--amount", required=True, help="what was debited (or tried), e.g. 3600.00")
    one.add_argument("--reference", required=True, help="the bank's own transaction reference")
    one.add_argument("--value-date", required=True, help="YYYY-MM-DD")
    one.add_argument("--currency", default="CNY")
    one.add_argument("--reason", help="on a failure: insufficient_funds, account_closed, mandate_revoked, "
                                      "account_frozen, invalid_account, amount_over_limit or other")
    one.set_defaults(run=send_result)

    many = commands.add_parser("send-results", help="send results from a CSV (reconciliation columns) or JSON file")
    many.add_argument("file", type=Path)
    many.add_argument("--format", choices=("csv", "json"), help="default: from the file name")
    many.set_defaults(run=send_results)

    upload = commands.add_parser("upload-reconciliation", help="upload the day's reconciliation file (CSV)")
    upload.add_argument("file", type=Path)
    upload.add_argument("--date", required=True, help="the day the file reconciles, YYYY-MM-DD")
    upload.set_defaults(run=upload_reconciliation)

    sign = commands.add_parser("sign", help="print the signed string and headers of a request, sending nothing")
    sign.add_argument("method")
    sign.add_argument("path", help="as sent, e.g. /api/v1/partner/bank/results")
    sign.add_argument("--query", default="", help="the query string without '?'")
    sign.add_argument("--body-file", type=Path)
    sign.add_argument("--timestamp", type=int, help="unix seconds (default now)")
    sign.set_defaults(run=None)
    return top


def _secret(args: argparse.Namespace) -> str | None:
    if args.secret_file is not None:
        return str(args.secret_file.read_text(encoding="utf-8").strip())
    return os.environ.get("PARTNER_BANK_SECRET") or None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.nonce is not None and not partner_signing.NONCE_PATTERN.fullmatch(args.nonce):
        parser().error("--nonce: 16-64 characters of A-Z a-z 0-9 - _")
    if getattr(args, "timestamp", None) is not None and args.timestamp < 0:
        parser().error("--timestamp: unix seconds, not negative")
    try:
        secret = _secret(args)
        if not secret:
            raise results_io.InputInvalid("no secret: set PARTNER_BANK_SECRET or give --secret-file", [
                {"field": "PARTNER_BANK_SECRET", "rule": "required", "message": "set it"}])
        if args.run is None:
            _print_json(sign_only(args, secret), sys.stdout)
            return EXIT_OK
        if not args.key_id:
            raise results_io.InputInvalid("no key id: set PARTNER_BANK_KEY_ID or give --key-id", [
                {"field": "PARTNER_BANK_KEY_ID", "rule": "required", "message": "set it"}])
        run: Callable[[argparse.Namespace, PartnerBankClient], Any] = args.run
        with PartnerBankClient(Credentials(args.url, args.key_id, secret), timeout=args.timeout,
                               first_nonce=args.nonce) as client:
            _print_json(run(args, client), sys.stdout)
        return EXIT_OK
    except results_io.InputInvalid as invalid:
        _print_json(_input_problem(invalid.detail, invalid.errors), sys.stderr)
        return EXIT_INPUT
    except OSError as bad:  # a file that cannot be read
        _print_json(_input_problem(str(bad), [{"field": str(bad.filename or "input"), "rule": "readable",
                                                          "message": str(bad)}]), sys.stderr)
        return EXIT_INPUT
    except Refused as refused:
        _print_json(refused.problem, sys.stderr)
        retry_later = refused.status >= 500 or refused.status == 429
        return EXIT_UNANSWERED if retry_later else EXIT_REFUSED
    except Unanswered as lost:
        _print_json({"type": "about:blank", "title": "No answer", "code": "no_answer", "detail": str(lost)},
                    sys.stderr)
        return EXIT_UNANSWERED
