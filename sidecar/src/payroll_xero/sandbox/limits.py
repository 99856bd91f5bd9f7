"""Rate limits (per organisation and app) and injected faults."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from typing import Any

FAULT_KINDS = ("fail", "rate_limit", "timeout", "drop", "redirect")
RATE_LIMIT_PROBLEMS = ("minute", "concurrent", "day", "appminute")
# Without a path filter, faults hit the accounting API and /connections, not the login pages or tokens.
_DEFAULT_SCOPE = ("/api.xro/", "/connections")


@dataclass
class Fault:
    """One injected misbehaviour, for the next ``remaining`` matching calls."""

    kind: str
    remaining: int
    status: int = 503
    path: str | None = None
    method: str | None = None
    retry_after: int = 1
    problem: str = "minute"
    delay: float = 5.0
    location: str = "/"

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path:
            return self.path.lower() in path.lower()
        return path.lower().startswith(_DEFAULT_SCOPE)


class Faults:
    """Faults waiting for the next calls (thread-safe). Without ``path``, a fault hits API calls only;
    with ``path`` (a substring, e.g. ``"Invoices"`` or ``"/connect/token"``) any matching request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def _add(self, fault: Fault) -> Fault:
        if fault.remaining < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail_next(
        self, n: int = 1, status: int = 503, path: str | None = None, method: str | None = None
    ) -> Fault:
        """Answer the next ``n`` matching calls with ``status`` (500, 503...) without doing anything."""
        return self._add(Fault("fail", n, status=status, path=path, method=method))

    def rate_limit_next(
        self,
        n: int = 1,
        retry_after: int = 1,
        problem: str = "minute",
        path: str | None = None,
        method: str | None = None,
    ) -> Fault:
        """Answer the next ``n`` matching calls with 429, ``Retry-After`` and ``X-Rate-Limit-Problem``."""
        if problem not in RATE_LIMIT_PROBLEMS:
            raise ValueError(f"problem must be one of {RATE_LIMIT_PROBLEMS}")
        return self._add(
            Fault(
                "rate_limit",
                n,
                status=429,
                retry_after=retry_after,
                problem=problem,
                path=path,
                method=method,
            )
        )

    def timeout_next(
        self, n: int = 1, delay: float = 5.0, path: str | None = None, method: str | None = None
    ) -> Fault:
        """Wait ``delay`` seconds, then answer 504 without doing anything (the client should time out)."""
        return self._add(Fault("timeout", n, status=504, delay=delay, path=path, method=method))

    def drop_after_commit_next(self, n: int = 1, path: str | None = None, method: str | None = None) -> Fault:
        """Do the work, then close the connection without answering."""
        return self._add(Fault("drop", n, status=0, path=path, method=method))

    def redirect_next(
        self, n: int = 1, location: str = "/", path: str | None = None, method: str | None = None
    ) -> Fault:
        """Answer the next ``n`` matching calls with ``302 Location: location`` without doing anything."""
        return self._add(Fault("redirect", n, status=302, location=location, path=path, method=method))

    def add(self, spec: dict[str, Any]) -> Fault:
        """A fault from its JSON form: ``{"kind": "fail"|"rate_limit"|"timeout"|"drop"|"redirect", "n": 1, ...}``."""
        spec = dict(spec)
        kind = spec.pop("kind", None)
        n = int(spec.pop("n", 1))
        methods = {
            "fail": self.fail_next,
            "rate_limit": self.rate_limit_next,
            "timeout": self.timeout_next,
            "drop": self.drop_after_commit_next,
            "redirect": self.redirect_next,
        }
        if kind not in methods:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        return methods[kind](n, **spec)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this call (consuming one of its uses), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return Fault(**{**asdict(fault), "remaining": 1})
        return None

    def pending(self) -> list[dict[str, Any]]:
        """The faults still waiting, as JSON."""
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> None:
        """Forget every fault."""
        with self._lock:
            self._faults.clear()


@dataclass(frozen=True)
class Decision:
    """Whether a call may go ahead; the limit headers to send either way."""

    allowed: bool
    headers: dict[str, str]
    problem: str | None = None
    retry_after: int = 0


class RateLimiter:
    """Xero's limits: per organisation and app a rolling minute, a rolling day and calls in flight;
    per app a rolling minute across organisations."""

    def __init__(
        self,
        minute_limit: int = 60,
        concurrent_limit: int = 5,
        day_limit: int = 5000,
        app_minute_limit: int = 10000,
    ) -> None:
        self.minute_limit = minute_limit
        self.concurrent_limit = concurrent_limit
        self.day_limit = day_limit
        self.app_minute_limit = app_minute_limit
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every call."""
        with self._lock:
            self._minute: dict[tuple[str, str], deque[float]] = defaultdict(deque)
            self._day: dict[tuple[str, str], deque[float]] = defaultdict(deque)
            self._app: dict[str, deque[float]] = defaultdict(deque)
            self._in_flight: dict[tuple[str, str], int] = defaultdict(int)

    @staticmethod
    def _trim(calls: deque[float], now: float, window: float) -> None:
        while calls and calls[0] <= now - window:
            calls.popleft()

    def acquire(self, client_id: str, tenant_id: str) -> Decision:
        """Count a call (and mark it in flight) when the limits allow it."""
        now = time.time()
        key = (client_id, tenant_id)
        with self._lock:
            minute, day, app = self._minute[key], self._day[key], self._app[client_id]
            self._trim(minute, now, 60)
            self._trim(day, now, 86400)
            self._trim(app, now, 60)
            problem, retry_after = None, 0
            if self._in_flight[key] >= self.concurrent_limit:
                problem, retry_after = "concurrent", 1
            elif len(day) >= self.day_limit:
                problem, retry_after = "day", math.ceil(day[0] + 86400 - now)
            elif len(app) >= self.app_minute_limit:
                problem, retry_after = "appminute", math.ceil(app[0] + 60 - now)
            elif len(minute) >= self.minute_limit:
                problem, retry_after = "minute", math.ceil(minute[0] + 60 - now)
            if problem is None:
                minute.append(now)
                day.append(now)
                app.append(now)
                self._in_flight[key] += 1
            headers = {
                "X-MinLimit-Remaining": str(max(self.minute_limit - len(minute), 0)),
                "X-DayLimit-Remaining": str(max(self.day_limit - len(day), 0)),
                "X-AppMinLimit-Remaining": str(max(self.app_minute_limit - len(app), 0)),
            }
        return Decision(problem is None, headers, problem, max(retry_after, 1) if problem else 0)

    def release(self, client_id: str, tenant_id: str) -> None:
        """A call counted by :meth:`acquire` has finished."""
        with self._lock:
            key = (client_id, tenant_id)
            self._in_flight[key] = max(self._in_flight[key] - 1, 0)

    def headers(self, client_id: str, tenant_id: str) -> dict[str, str]:
        """The remaining-calls headers without counting a call."""
        now = time.time()
        with self._lock:
            minute, day, app = (
                self._minute[(client_id, tenant_id)],
                self._day[(client_id, tenant_id)],
                self._app[client_id],
            )
            for calls, window in ((minute, 60), (day, 86400), (app, 60)):
                self._trim(calls, now, window)
            return {
                "X-MinLimit-Remaining": str(max(self.minute_limit - len(minute), 0)),
                "X-DayLimit-Remaining": str(max(self.day_limit - len(day), 0)),
                "X-AppMinLimit-Remaining": str(max(self.app_minute_limit - len(app), 0)),
            }
