"""An in-process token bucket per caller. Each gateway process keeps its own buckets, so N
processes allow N times the rate; that is the documented trade for having no shared state."""

from __future__ import annotations

import time
from collections import OrderedDict
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
    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_callers: int = 100_000) -> None:
        self.rate, self.burst, self.clock, self.max_callers = rate_per_second, burst, clock, max_callers
        # Least recently used first: callers are whatever a client sends (usernames), so they are bounded.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _refilled(self, caller: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = _Bucket(float(self.burst), now)
            while len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)  # forgetting a caller only gives it a full bucket again
        self._buckets.move_to_end(caller)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def take(self, caller: str) -> float | None:
        """Spend one token of `caller`'s bucket: None when allowed, else seconds until a token is back."""
        bucket = self._refilled(caller)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def wait(self, caller: str) -> float | None:
        """Like `take` without spending: None while `caller` has a token, else seconds until one is back."""
        bucket = self._refilled(caller)
        return None if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate
