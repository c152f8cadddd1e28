"""Failed-attempt throttling: a key (an account, a client address) with too many failures in a window waits.

Counts live in the memory of one process: each API or dashboard replica throttles on its own, so N replicas
let through at most N times the limit (docs/security.md).
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class Throttle:
    """At most `limit` failures per key within `window` seconds; then the key is refused until one expires."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: str) -> int:
        """Whole seconds until `key` may try again; 0 when it may try now."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if times is None or len(times) < self.limit:
                return 0
            return max(1, math.ceil(times[0] + self.window - now))

    def failure(self, key: str) -> None:
        """Count one failed attempt of `key`."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now) or deque(maxlen=self.limit)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:  # bounded memory under a flood of distinct keys
                self._failures.popitem(last=False)

    def success(self, key: str) -> None:
        """Forget the failures of `key` (a correct sign-in)."""
        with self._lock:
            self._failures.pop(key, None)
