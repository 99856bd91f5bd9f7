"""Xero's per-organisation limits: the interface every limiter offers, and the in-process one.

A limiter is what :class:`~payroll_xero.client.transport.Transport` takes a slot from around each HTTP
call (:meth:`Limiter.slot`) and tells what Xero said is left (:meth:`Limiter.remember`, from the
``X-MinLimit-Remaining`` / ``X-DayLimit-Remaining`` headers). :class:`TenantLimiter` keeps the limits
in this process; a program with several processes (the Odoo addon) passes in one that shares them.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

from ..errors import RateLimited

#: How long a day budget that Xero said is spent blocks calls before one call is let through to ask
#: again (Xero's day is a rolling 24 hours and its headers do not say when a call frees).
DAY_PROBE = 3600.0


@runtime_checkable
class Limiter(Protocol):
    """The limits of one Xero organisation, as the transport uses them."""

    def slot(self) -> AbstractContextManager[None]:
        """Held around one HTTP call: waits (bounded) until the minute window and the concurrency allow
        one more call, or raises :class:`~payroll_xero.errors.RateLimited` when the call must not be
        made now (e.g. the day budget is spent)."""
        ...

    def remember(self, minute_remaining: int | None, day_remaining: int | None) -> None:
        """What Xero's headers of an answer said is left this minute and this day (None: not said)."""
        ...


def window_padding(per_minute: int, counted: int, minute_remaining: int | None) -> int:
    """How many calls Xero counted in the minute that this limiter did not (calls made elsewhere):
    entries to add to the window so that it never allows more than Xero has left."""
    if minute_remaining is None:
        return 0
    return max(0, per_minute - counted - max(0, minute_remaining))


def day_refusal(day_remaining: int | None, checked_at: float | None, now: float) -> float | None:
    """Seconds until a call may be made again when the day budget is spent, else None."""
    if day_remaining is None or day_remaining > 0 or checked_at is None:
        return None
    wait = checked_at + DAY_PROBE - now
    return wait if wait > 0 else None


def day_limit_error(wait: float) -> RateLimited:
    """The error a limiter raises instead of a call while the day budget is spent."""
    return RateLimited(
        datetime.now(timezone.utc) + timedelta(seconds=wait),
        "day",
        message=(
            "Xero's daily call limit of this organisation is spent (Xero said so in its last answer): "
            f"no call is made before {(datetime.now(timezone.utc) + timedelta(seconds=wait)):%Y-%m-%d %H:%M} UTC."
        ),
    )


class TenantLimiter:
    """In-process limits for one organisation: at most ``per_minute`` calls in any rolling
    60 s and at most ``concurrent`` calls in flight. Thread-safe; ``clock`` and ``sleep`` are
    injectable so tests need not wait.

    Xero counts a call when it arrives, which is after the slot was taken and before the
    answer came back: so a call is counted from when its slot is taken, and, once it is
    done, from when it ended. A slot therefore frees no earlier than Xero's own count does.

    :meth:`remember` pads the window with the calls Xero counted and this limiter did not (made by
    another process), and a day budget that Xero said is spent refuses calls for ``DAY_PROBE``.
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
        self.minute_remaining: int | None = None
        self.day_remaining: int | None = None
        self.day_checked_at: float | None = None

    def _take_minute_slot(self) -> float:
        while True:
            with self._lock:
                now = self.clock()
                refused = day_refusal(self.day_remaining, self.day_checked_at, now)
                if refused is not None:
                    raise day_limit_error(refused)
                cut = bisect.bisect_right(self.starts, now - self.window)
                del self.starts[:cut]
                if len(self.starts) < self.per_minute:
                    bisect.insort(self.starts, now)
                    if self.day_remaining is not None:
                        self.day_remaining -= 1
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

    def remember(self, minute_remaining: int | None, day_remaining: int | None) -> None:
        with self._lock:
            now = self.clock()
            if minute_remaining is not None:
                self.minute_remaining = minute_remaining
                cut = bisect.bisect_right(self.starts, now - self.window)
                del self.starts[:cut]
                for _ in range(window_padding(self.per_minute, len(self.starts), minute_remaining)):
                    bisect.insort(self.starts, now)
            if day_remaining is not None:
                self.day_remaining = day_remaining
                self.day_checked_at = now


_LIMITERS: dict[str, TenantLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(tenant_id: str) -> TenantLimiter:
    """The process-wide limiter of ``tenant_id`` (shared by every client of that tenant)."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(tenant_id)
        if limiter is None:
            limiter = _LIMITERS[tenant_id] = TenantLimiter()
        return limiter
