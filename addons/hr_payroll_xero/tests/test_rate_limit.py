# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The organisation's rate limit shared by every Odoo process through PostgreSQL (``xero.rate.limit``)."""

import contextlib
import unittest.mock

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from payroll_xero.errors import RateLimited

from ..models.compat import enter_registry_test_mode
from ..models.xero_rate_limit import SLOT_TTL, PgTenantLimiter
from .common import XeroPayrollCase

TENANT = "tenant-of-the-rate-limit-tests"


class SharedClock:
    """Seconds added to PostgreSQL's clock, moved on by the limiters' sleeps: one clock for two "processes"."""

    def __init__(self):
        self.shift = 0.0
        self.sleeps = []

    def __call__(self):
        return self.shift

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.shift += seconds


@tagged("post_install", "-at_install")
class TestSharedRateLimit(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The limiter commits its short transactions on cursors of its own: in test mode they share the
        # test transaction.
        enter_registry_test_mode(cls)

    def _limiter(self, clock, **kw):
        kw.setdefault("per_minute", 60)
        kw.setdefault("concurrent", 5)
        return PgTenantLimiter(self.env.registry, TENANT, sleep=clock.sleep, offset=clock, **kw)

    def _now(self, clock):
        self.env.cr.execute("SELECT extract(epoch FROM clock_timestamp())")
        return float(self.env.cr.fetchone()[0]) + clock()

    def _row(self):
        self.env.invalidate_all()
        return self.env["xero.rate.limit"].search([("tenant_id", "=", TENANT)])

    def test_two_processes_together_never_exceed_the_minute_window(self):
        clock = SharedClock()
        first, second = self._limiter(clock, per_minute=3), self._limiter(clock, per_minute=3)
        starts = []
        for limiter in (first, second) * 5:
            with limiter.slot():
                starts.append(self._now(clock))
        for i, start in enumerate(starts):
            self.assertLessEqual(sum(1 for s in starts[i:] if s < start + 60), 3, starts)
        self.assertGreaterEqual(starts[-1] - starts[0], 180)  # 10 calls at 3 a minute
        self.assertTrue(clock.sleeps)

    def test_two_processes_together_never_exceed_the_concurrent_calls(self):
        clock = SharedClock()
        first, second = self._limiter(clock, max_wait=60), self._limiter(clock, max_wait=60)
        with contextlib.ExitStack() as held:
            for limiter in (first, second, first, second, first):
                held.enter_context(limiter.slot())
            self.assertEqual(first.in_flight(), 5)
            with self.assertRaises(RateLimited) as caught:
                with second.slot():
                    self.fail("a sixth call may not start")
            self.assertEqual(caught.exception.problem, "concurrent")
            self.assertLessEqual(sum(clock.sleeps), 61)  # bounded wait, then the push retries later
        self.assertEqual(second.in_flight(), 0)
        with second.slot():
            self.assertEqual(first.in_flight(), 1)

    def test_a_crashed_workers_slot_expires_and_frees_its_place(self):
        clock = SharedClock()
        crashed = self._limiter(clock, concurrent=1)
        # the worker took its slot, then was killed during its call: the slot is never released
        self.assertEqual(crashed._try_take("killed-worker"), (0, unittest.mock.ANY))
        survivor = self._limiter(clock, concurrent=1, max_wait=SLOT_TTL + 10)
        with survivor.slot():
            self.assertEqual(survivor.in_flight(), 1)
        self.assertGreaterEqual(sum(clock.sleeps), SLOT_TTL - 1)
        row = self._row()
        self.assertEqual(row.in_flight, {})
        self.assertEqual(
            len(row.call_window), 1
        )  # the dead call left the minute: only the survivor's is counted

    def test_calls_xero_counted_elsewhere_fill_the_shared_window(self):
        clock = SharedClock()
        limiter = self._limiter(clock, per_minute=5)
        limiter.remember(2, None)  # another app used 3 of the organisation's calls this minute
        with limiter.slot(), self._limiter(clock, per_minute=5).slot():
            pass
        self.assertEqual(clock.sleeps, [])
        with limiter.slot():
            pass
        self.assertGreaterEqual(sum(clock.sleeps), 59)
        self.assertEqual(self._row().minute_remaining, 2)

    def test_a_spent_day_budget_blocks_every_process(self):
        clock = SharedClock()
        self._limiter(clock).remember(None, 1)
        with self._limiter(clock).slot():
            pass
        self.assertEqual(self._row().day_remaining, 0)  # counted down by the call
        with self.assertRaises(RateLimited) as caught:
            with self._limiter(clock).slot():
                self.fail("no call may start")
        self.assertEqual(caught.exception.problem, "day")
        self.assertGreater(caught.exception.retry_after, 3000)


@tagged("post_install", "-at_install")
class TestRateLimitOfConnections(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.net_type.active = False

    def _row(self):
        self.env.invalidate_all()
        return self.env["xero.rate.limit"].search([("tenant_id", "=", self.DEMO_TENANT_ID)])

    def test_the_connections_calls_keep_xeros_remaining_calls_in_the_shared_row(self):
        self.connection._xero_sync_accounts()
        row = self._row()
        self.assertTrue(row.call_window)
        self.assertEqual(row.in_flight, {})  # every slot released
        self.assertTrue(0 < row.day_remaining < 5000)  # as Xero's X-DayLimit-Remaining said

    def test_a_spent_day_budget_makes_no_call_and_the_push_retries_after_it(self):
        self.connection._xero_limiter().remember(None, 0)
        calls = len(self.sandbox.calls)
        with self.assertRaises(UserError):
            self.connection.action_sync_accounts()
        record = self.batch._xero_generate_bills()
        self.assertEqual(len(self.sandbox.calls), calls)
        self.assertEqual(record.state, "failed")
        self.assertTrue(record.retryable)
        self.assertIn("daily", record.last_error)
        wait = (record.next_attempt_at - fields.Datetime.now()).total_seconds()
        self.assertTrue(3000 < wait <= 3600, wait)

    def test_the_push_cron_without_queue_job_takes_its_slots_from_the_shared_row(self):
        self.batch._xero_generate_bills(push=False).sudo().write({"state": "queued"})
        self.env["xero.bill.record"]._cron_push_queued()
        self.assertEqual(set(self.batch.xero_record_ids.mapped("state")), {"sent"})
        row = self._row()
        self.assertGreaterEqual(len(row.call_window), 3)  # contacts, look-up and create, at least
        self.assertEqual(row.in_flight, {})
