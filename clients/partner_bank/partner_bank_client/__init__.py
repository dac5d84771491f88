"""A partner bank's client of the gateway's signed partner API (`partner-bank --help`).

It signs every request with `svckit.partner_signing`, the one implementation of the signature the
gateway verifies, and speaks only the public API under `/api/v1/partner/bank/`.
"""
