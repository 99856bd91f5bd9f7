"""The limiter interface: what the transport asks of any limiter, and the in-process one's use of Xero's headers."""

from __future__ import annotations

import contextlib

import pytest
from common import calls_to, make_client

from payroll_xero.client import Limiter, TenantLimiter
from payroll_xero.client.limiter import DAY_PROBE
from payroll_xero.errors import RateLimited


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RecordingLimiter:
    """Another implementation of the interface, as the Odoo addon passes one in."""

    def __init__(self) -> None:
        self.slots = 0
        self.in_flight = 0
        self.remembered: list[tuple[int | None, int | None]] = []

    @contextlib.contextmanager
    def slot(self):
        self.slots += 1
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def remember(self, minute_remaining, day_remaining):
        assert self.in_flight == 0, "the headers are remembered once the call is done"
        self.remembered.append((minute_remaining, day_remaining))


def test_the_in_process_limiter_offers_the_interface_the_transport_uses():
    assert isinstance(TenantLimiter(), Limiter)
    assert isinstance(RecordingLimiter(), Limiter)


def test_transport_takes_a_slot_of_the_given_limiter_and_tells_it_the_limits_xero_sent(sandbox):
    limiter = RecordingLimiter()
    client = make_client(sandbox, limiter=limiter)
    client.organisation()
    calls = calls_to(sandbox, "GET", "/Organisation") + calls_to(sandbox, "GET", "/Currencies")
    assert limiter.slots == len(calls) >= 1
    assert len(limiter.remembered) == limiter.slots
    minute, day = limiter.remembered[-1]
    assert 0 <= minute < 60 and 4900 < day < 5000  # the sandbox's X-MinLimit / X-DayLimit-Remaining


def test_transport_tells_the_limiter_the_limits_of_a_429_too(sandbox):
    limiter = RecordingLimiter()
    client = make_client(sandbox, limiter=limiter)
    sandbox.faults.rate_limit_next(1, retry_after=1, problem="minute")
    client.organisation()
    assert len(limiter.remembered) == limiter.slots >= 2  # the refused call and the ones after


def test_calls_xero_counted_elsewhere_fill_the_window():
    clock = FakeClock()
    limiter = TenantLimiter(per_minute=5, clock=clock, sleep=clock.sleep)
    limiter.remember(minute_remaining=2, day_remaining=None)  # 3 calls made by another process
    starts = []
    for _ in range(3):
        with limiter.slot():
            starts.append(clock.now)
    assert starts[:2] == [1000.0, 1000.0]
    assert starts[2] >= 1060.0  # the third waits for the others' calls to leave the minute


def test_minute_remaining_that_this_limiter_already_counted_adds_nothing():
    clock = FakeClock()
    limiter = TenantLimiter(per_minute=5, clock=clock, sleep=clock.sleep)
    for _ in range(2):
        with limiter.slot():
            pass
    limiter.remember(minute_remaining=3, day_remaining=None)  # Xero counted the same two
    for _ in range(3):
        with limiter.slot():
            pass
    assert clock.sleeps == []


def test_spent_day_budget_refuses_calls_until_the_probe_time():
    clock = FakeClock()
    limiter = TenantLimiter(clock=clock, sleep=clock.sleep)
    limiter.remember(minute_remaining=None, day_remaining=0)
    with pytest.raises(RateLimited) as info:
        with limiter.slot():
            pytest.fail("no call may start")
    assert info.value.problem == "day" and info.value.retryable
    assert DAY_PROBE - 5 <= info.value.retry_after <= DAY_PROBE
    clock.now += DAY_PROBE
    with limiter.slot():  # one call asks Xero again
        pass


def test_day_budget_counts_down_with_each_call():
    clock = FakeClock()
    limiter = TenantLimiter(clock=clock, sleep=clock.sleep)
    limiter.remember(minute_remaining=None, day_remaining=2)
    for _ in range(2):
        with limiter.slot():
            pass
    with pytest.raises(RateLimited):
        with limiter.slot():
            pass
