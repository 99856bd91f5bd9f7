"""Xero's per-organisation limits, kept in this process: calls per rolling minute and in flight."""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable, Iterator


class TenantLimiter:
    """In-process limits for one organisation: at most ``per_minute`` calls in any rolling
    60 s and at most ``concurrent`` calls in flight. Thread-safe; ``clock`` and ``sleep`` are
    injectable so tests need not wait.

    Xero counts a call when it arrives, which is after the slot was taken and before the
    answer came back: so a call is counted from when its slot is taken, and, once it is
    done, from when it ended. A slot therefore frees no earlier than Xero's own count does.
    """

    def __init__(
        self,
        per_minute: int = 60,
        concurrent: int = 5,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.concurrent = concurrent
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self.starts: list[float] = []  # sorted: when each call of the window was (last) counted
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrent)
        self.waited = 0.0  # total time spent waiting for the minute window

    def _take_minute_slot(self) -> float:
        while True:
            with self._lock:
                now = self.clock()
                cut = bisect.bisect_right(self.starts, now - self.window)
                del self.starts[:cut]
                if len(self.starts) < self.per_minute:
                    bisect.insort(self.starts, now)
                    return now
                wait = self.starts[0] + self.window - now
            self.waited += wait
            self.sleep(max(wait, 0.001))

    def _call_ended(self, started: float) -> None:
        with self._lock:
            idx = bisect.bisect_left(self.starts, started)
            if idx < len(self.starts) and self.starts[idx] == started:
                del self.starts[idx]
                bisect.insort(self.starts, max(started, self.clock()))

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        self._slots.acquire()
        try:
            started = self._take_minute_slot()
            try:
                yield
            finally:
                self._call_ended(started)
        finally:
            self._slots.release()


_LIMITERS: dict[str, TenantLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(tenant_id: str) -> TenantLimiter:
    """The process-wide limiter of ``tenant_id`` (shared by every client of that tenant)."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(tenant_id)
        if limiter is None:
            limiter = _LIMITERS[tenant_id] = TenantLimiter()
        return limiter
