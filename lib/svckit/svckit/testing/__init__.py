"""Test support shared by every package's tests (loaded as a pytest plugin from the root config)."""
