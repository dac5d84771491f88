"""Reading one sample out of a Prometheus text exposition, for tests of `GET /metrics`."""

from __future__ import annotations

import re

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly these labels; None when there is no such series."""
    for line in exposition.splitlines():
        match = _SAMPLE.fullmatch(line)
        if match and match.group(1) == name and dict(_LABEL.findall(match.group(2) or "")) == labels:
            return float(match.group(3))
    return None
