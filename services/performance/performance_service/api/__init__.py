"""Thin routers of the performance service."""
