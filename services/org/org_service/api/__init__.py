"""The org service's HTTP API (thin: validation at the edge, rules in the domain modules)."""
