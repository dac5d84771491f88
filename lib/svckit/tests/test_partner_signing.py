"""Partner request signatures: known answers (computed outside Python, with openssl), canonical
queries, and every signed part changed makes verification fail."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from svckit import partner_signing
from svckit.partner_signing import canonical_query, sign, verify

SECRET = "bank-secret-for-test-vectors-only-0001"
BODY = b'{"instruction_id":"DI-20261123-0001","result":"success"}'
PATH = "/api/v1/partner/bank/v1/debit-results"
TIMESTAMP = 1795363200
NONCE = "n0nce-0123456789abcdef"

# printf 'POST\n<path>\nbatch=7&date=2026-11-23\n1795363200\nn0nce-0123456789abcdef\n<sha256 of BODY>' \
#   | openssl dgst -sha256 -hmac "$SECRET"
POST_VECTOR = "2beb3fff4c91367bf15671188da36e306a7c4241d4ec6dbf8729808697aa632f"
# The same for GET /api/v1/partner/bank/v1/reconciliations, no query, nonce AAAAAAAAAAAAAAAA, empty body.
GET_VECTOR = "b2d4351df428659a5d2250d61834821c83fe774b6b464c2eab86385c6692006e"


def signed_post(**overrides: Any) -> dict[str, str]:
    values: dict[str, Any] = {"key_id": "pk_test", "secret": SECRET, "method": "POST", "path": PATH,
                              "query": "date=2026-11-23&batch=7", "body": BODY, "timestamp": TIMESTAMP,
                              "nonce": NONCE, **overrides}
    return sign(**values)


def check(headers: dict[str, str], **overrides: Any) -> bool:
    values: dict[str, Any] = {
        "secret": SECRET, "method": "POST", "path": PATH, "query": "date=2026-11-23&batch=7",
        "timestamp": headers[partner_signing.TIMESTAMP_HEADER], "nonce": headers[partner_signing.NONCE_HEADER],
        "body_hash": hashlib.sha256(BODY).hexdigest(), "signature_hex": headers[partner_signing.SIGNATURE_HEADER],
        **overrides,
    }
    return verify(**values)


def test_known_answers() -> None:
    assert hashlib.sha256(BODY).hexdigest() == "d52c613d5fe9345b690a11060997585c6fd96ddce707a73c5126b5d553750944"
    assert signed_post() == {
        "X-Partner-Key": "pk_test", "X-Partner-Timestamp": "1795363200", "X-Partner-Nonce": NONCE,
        "X-Partner-Signature": POST_VECTOR,
    }
    get = sign(key_id="k", secret=SECRET.encode(), method="get", path="/api/v1/partner/bank/v1/reconciliations",
               timestamp=TIMESTAMP, nonce="A" * 16)
    assert get["X-Partner-Signature"] == GET_VECTOR
    assert partner_signing.EMPTY_BODY_SHA256 == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_the_canonical_string_is_six_lines() -> None:
    assert partner_signing.canonical_string(
        method="post", path=PATH, query="b=2&a=1", timestamp="1", nonce=NONCE, body_hash="AB" * 32,
    ) == f"POST\n{PATH}\na=1&b=2\n1\n{NONCE}\n{'ab' * 32}"


def test_a_precomputed_body_hash_signs_the_same() -> None:
    assert signed_post(body=b"", body_hash=hashlib.sha256(BODY).hexdigest()) == signed_post()


def test_a_good_signature_verifies() -> None:
    headers = signed_post()
    assert check(headers)
    assert check(headers, signature_hex=headers["X-Partner-Signature"].upper())  # hex case does not matter
    assert check(headers, query="batch=7&date=2026-11-23")  # nor the order of distinct names


@pytest.mark.parametrize("tampered", [
    {"body_hash": hashlib.sha256(BODY + b" ").hexdigest()},
    {"path": PATH + "x"},
    {"path": PATH.upper()},
    {"method": "PUT"},
    {"query": "date=2026-11-24&batch=7"},
    {"query": "date=2026-11-23&batch=7&extra=1"},
    {"query": ""},
    {"timestamp": str(TIMESTAMP + 1)},
    {"nonce": NONCE[:-1] + "0"},
    {"secret": SECRET + "x"},
    {"signature_hex": "0" * 64},
    {"signature_hex": POST_VECTOR[:-1]},
    {"signature_hex": "不是签名"},
], ids=["body", "path", "path-case", "method", "query-value", "query-extra", "query-gone", "timestamp", "nonce",
        "secret", "signature-zero", "signature-short", "signature-not-hex"])
def test_any_change_fails_verification(tampered: dict[str, str]) -> None:
    assert not check(signed_post(), **tampered)


@pytest.mark.parametrize(("raw", "canonical"), [
    ("", ""),
    ("b=2&a=1", "a=1&b=2"),
    ("a=2&a=1&b=0", "a=2&a=1&b=0"),  # a repeated name keeps its order: it can mean something
    ("b=%e4%b8%ad+x&flag&&a=1", "a=1&b=%E4%B8%AD%20x&flag="),
    ("q=a%2Bb", "q=a%2Bb"),  # an encoded plus is a plus; a bare plus is a space
    ("q=a+b", "q=a%20b"),
    ("q=%7E~%2d", "q=~~-"),
    ("bad=%zz", "bad=%25zz"),
    (b"raw=%FF%FE", "raw=%FF%FE"),  # bytes that are not UTF-8 stay distinct
])
def test_canonical_query(raw: str | bytes, canonical: str) -> None:
    assert canonical_query(raw) == canonical


def test_different_bytes_never_share_a_canonical_query() -> None:
    assert canonical_query("raw=%FF") != canonical_query("raw=%FE")
    assert canonical_query("q=a%2Bb") != canonical_query("q=a+b")


@pytest.mark.parametrize("nonce", ["short", "x" * 65, "has space here!!", "ünïcödé-ünïcödé-"])
def test_sign_refuses_a_bad_nonce(nonce: str) -> None:
    with pytest.raises(ValueError, match="nonce"):
        signed_post(nonce=nonce)


def test_sign_defaults_to_now_and_a_fresh_nonce() -> None:
    first, second = signed_post(timestamp=None, nonce=None), signed_post(timestamp=None, nonce=None)
    assert first["X-Partner-Nonce"] != second["X-Partner-Nonce"]
    assert partner_signing.NONCE_PATTERN.fullmatch(first["X-Partner-Nonce"])
    assert check(first)


@pytest.mark.parametrize(("timestamp", "skew"), [("100", -50.0), ("200", 50.0), ("150", 0.0),
                                                 ("-5", None), ("1.5", None), ("", None), ("9" * 13, None)])
def test_timestamp_skew(timestamp: str, skew: float | None) -> None:
    assert partner_signing.timestamp_skew(timestamp, now=150.0) == skew
