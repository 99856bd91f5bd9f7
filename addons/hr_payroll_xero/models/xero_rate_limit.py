# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Xero's per-organisation limits shared by every Odoo process through PostgreSQL.

Xero allows an app 60 calls a minute and 5 concurrent calls per organisation. Odoo runs several worker
processes, often on several servers: each keeping its own count would let them exceed both together. So
the count lives in one row per Xero organisation (``xero.rate.limit``), and :class:`PgTenantLimiter`, the
sidecar's limiter interface, takes a slot from it:

- a slot is taken in a short transaction on a cursor of its own: the row is locked (``FOR UPDATE``),
  the minute window and the calls in flight are read and written back, and it is committed, so that no
  transaction is open while the HTTP call runs;
- PostgreSQL's ``clock_timestamp()`` is the one clock of all servers;
- a call in flight expires after ``SLOT_TTL`` seconds: the slot of a worker that crashed mid-call frees
  by itself (its call stays counted in the minute, as Xero counted it);
- once done the slot is released in another short transaction, and its call is counted from then on;
- while the window or the concurrency is full it sleeps (bounded by ``max_wait``, then raises
  ``RateLimited``, which a push treats as a temporary failure);
- ``remember`` stores what Xero's headers said is left: calls Xero counted and the row did not (another
  app using the organisation) fill the window, and a spent day budget refuses calls (``RateLimited``).
"""

import contextlib
import json
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone

from odoo import fields, models, modules

from .compat import sql_constraints

try:
    from payroll_xero.client.limiter import day_limit_error, day_refusal, window_padding
    from payroll_xero.errors import RateLimited
except ImportError:  # pragma: no cover - checked by external_dependencies
    day_limit_error = day_refusal = window_padding = None
    RateLimited = Exception

_logger = logging.getLogger(__name__)

WINDOW = 60.0  # seconds of Xero's rolling minute
SLOT_TTL = 120.0  # seconds after which a call in flight is taken for dead (longer than any timeout)
POLL = 1.0  # seconds between two looks at a full row
# seconds a call waits for a slot at most (a crashed worker's slot frees within SLOT_TTL), then RateLimited
MAX_SLOT_WAIT = 300.0


@sql_constraints(("tenant_uniq", "unique(tenant_id)", "One rate limit row per Xero organisation."))
class XeroRateLimit(models.Model):
    _name = "xero.rate.limit"
    _description = "Xero Rate Limit of an Organisation (shared by all workers)"
    _log_access = False
    _rec_name = "tenant_id"

    tenant_id = fields.Char(string="Organisation ID", required=True, readonly=True)
    call_window = fields.Json(
        readonly=True, help="When each call of the last minute was counted (epoch seconds)."
    )
    in_flight = fields.Json(readonly=True, help="Calls under way: slot -> [counted at, expires at].")
    minute_remaining = fields.Integer(readonly=True, help="X-MinLimit-Remaining of Xero's last answer.")
    day_remaining = fields.Integer(
        readonly=True, help="X-DayLimit-Remaining of Xero's last answer, counted down."
    )
    day_checked_at = fields.Float(readonly=True, help="When Xero last said how many calls are left today.")


class PgTenantLimiter:
    """The sidecar's limiter (``slot()``, ``remember()``) for one organisation, kept in ``xero.rate.limit``.

    ``registry`` gives the cursors (one per short transaction); ``offset`` (seconds added to PostgreSQL's
    clock) and ``sleep`` are injectable so tests need not wait: two limiters sharing them behave as two
    processes of one database.
    """

    def __init__(
        self,
        registry,
        tenant_id,
        per_minute=60,
        concurrent=5,
        *,
        max_wait=MAX_SLOT_WAIT,
        slot_ttl=SLOT_TTL,
        sleep=time.sleep,
        offset=lambda: 0.0,
    ):
        self.registry = registry
        self.tenant_id = tenant_id
        self.per_minute = per_minute
        self.concurrent = concurrent
        self.max_wait = max_wait
        self.slot_ttl = slot_ttl
        self.sleep = sleep
        self.offset = offset
        self.waited = 0.0

    # ------------------------------------------------------------------ the row

    @contextlib.contextmanager
    def _cursor(self):
        """A short transaction of its own, committed when the block ends. READ COMMITTED: once the row lock
        is granted, the row another worker just committed is the one read (REPEATABLE READ, Odoo's default,
        would refuse it as a concurrent update)."""
        with self.registry.cursor() as cr:
            if not modules.module.current_test:  # a test's cursors share the test transaction
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            yield cr

    def _locked_row(self, cr):
        """Lock the organisation's row (made when missing) and read it with the shared clock's time."""
        cr.execute(
            "INSERT INTO xero_rate_limit (tenant_id, call_window, in_flight) VALUES (%s, '[]', '{}') "
            "ON CONFLICT (tenant_id) DO NOTHING",
            [self.tenant_id],
        )
        cr.execute(
            "SELECT call_window, in_flight, minute_remaining, day_remaining, day_checked_at, "
            "extract(epoch FROM clock_timestamp()) FROM xero_rate_limit WHERE tenant_id = %s FOR UPDATE",
            [self.tenant_id],
        )
        window, in_flight, minute, day, day_at, now = cr.fetchone()
        now = float(now) + self.offset()
        window = sorted(t for t in (window or []) if t > now - WINDOW)
        in_flight = {key: v for key, v in (in_flight or {}).items() if v[1] > now}
        return {"window": window, "in_flight": in_flight, "minute": minute, "day": day, "day_at": day_at}, now

    def _write(self, cr, row, **extra):
        values = {
            "call_window": json.dumps(row["window"]),
            "in_flight": json.dumps(row["in_flight"]),
            **extra,
        }
        assignments = ", ".join(f"{name} = %s" for name in values)
        cr.execute(
            f"UPDATE xero_rate_limit SET {assignments} WHERE tenant_id = %s",  # noqa: S608 - names are ours
            [*values.values(), self.tenant_id],
        )

    def _try_take(self, key):
        """One short transaction: take a slot (returns ``(0, counted_at)``) or say how long to wait."""
        with self._cursor() as cr:
            row, now = self._locked_row(cr)
            refused = day_refusal(row["day"], row["day_at"], now)
            if refused is not None:
                raise day_limit_error(refused)
            if len(row["in_flight"]) >= self.concurrent:
                soonest = min(expires for _counted, expires in row["in_flight"].values())
                return min(POLL, max(soonest - now, 0.01)), None
            if len(row["window"]) >= self.per_minute:
                return max(row["window"][0] + WINDOW - now, 0.01), None
            row["window"].append(now)
            row["in_flight"][key] = [now, now + self.slot_ttl]
            extra = {"day_remaining": row["day"] - 1} if row["day"] is not None else {}
            self._write(cr, row, **extra)
            # the cursor commits when the block ends: the slot is visible to every worker at once
        return 0, now

    def _release(self, key):
        """Another short transaction: the call is done; it is counted from now on (Xero counted it by then)."""
        with self._cursor() as cr:
            row, now = self._locked_row(cr)
            counted = row["in_flight"].pop(key, [None])[0]
            if counted is not None and counted in row["window"]:
                row["window"].remove(counted)
                row["window"].append(max(now, counted))
                row["window"].sort()
            self._write(cr, row)

    # ------------------------------------------------------------------ the interface

    @contextlib.contextmanager
    def slot(self):
        key = uuid.uuid4().hex
        waited = 0.0
        while True:
            wait, _counted = self._try_take(key)
            if not wait:
                break
            if waited + wait > self.max_wait:
                _logger.info("Xero tenant %s: no call slot within %.0fs", self.tenant_id, self.max_wait)
                problem = "concurrent" if wait <= POLL else "minute"
                raise RateLimited(datetime.now(timezone.utc) + timedelta(seconds=wait), problem)
            waited += wait
            self.waited += wait
            self.sleep(wait)
        try:
            yield
        finally:
            self._release(key)

    def remember(self, minute_remaining, day_remaining):
        with self._cursor() as cr:
            row, now = self._locked_row(cr)
            extra = {}
            if minute_remaining is not None:
                padding = window_padding(self.per_minute, len(row["window"]), minute_remaining)
                row["window"] = sorted(row["window"] + [now] * padding)
                extra["minute_remaining"] = minute_remaining
            if day_remaining is not None:
                extra.update(day_remaining=day_remaining, day_checked_at=now)
            self._write(cr, row, **extra)

    def in_flight(self):
        """How many calls are under way now (dead ones left out)."""
        with self._cursor() as cr:
            row, _now = self._locked_row(cr)
            return len(row["in_flight"])
