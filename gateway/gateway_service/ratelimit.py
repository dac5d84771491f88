"""An in-process token bucket per caller. Each gateway process keeps its own buckets, so N
processes allow N times the rate; that is the documented trade for having no shared state."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from svckit.errors import TooManyRequests


class RateLimited(TooManyRequests):
    """Rendered with a Retry-After header (see `app.py`)."""

    def __init__(self, detail: str, *, retry_after: float, **extra: object) -> None:
        super().__init__(detail, code="rate_limited", **extra)
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate_per_second, burst, clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, caller: str) -> float | None:
        """Spend one token of `caller`'s bucket: None when allowed, else seconds until a token is back."""
        now = self.clock()
        bucket = self._buckets.setdefault(caller, _Bucket(float(self.burst), now))
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate
