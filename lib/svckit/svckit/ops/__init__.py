"""Operations tooling: provisioning, the embedded database, the local stack runner, benchmarks.

Used by `make run`, `make test` and `make bench`; no service imports it.
"""
