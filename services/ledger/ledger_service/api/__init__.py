"""Thin routers of the ledger service."""
