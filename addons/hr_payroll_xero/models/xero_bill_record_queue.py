# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Pushes as OCA queue_job jobs, when queue_job is installed (it is optional: without it the cron pushes).

Generate and the retry cron then enqueue one job per group of up to ``JOB_SIZE`` records of one connection
(one Xero create call) on a channel per Xero organisation, and return at once. A job's identity key is
its records, and a record whose job is still waiting or running is not enqueued again, so enqueuing the
same records twice is a no-op. A job whose records all failed for a temporary reason (Xero's 429, a 5xx,
an unknown outcome) raises queue_job's ``RetryableJobError`` at Xero's ``Retry-After``: its transaction is
rolled back and it runs again, and since every create looks its bills up first, no bill is ever created
twice. When a batch's last job is done, whoever generated its bills is notified on the batch.
"""

import hashlib
import logging
import math

from odoo import api, fields, models, modules
from odoo.tools import split_every

from .compat import queue_job_installed, retryable_job_error
from .const import MAX_ATTEMPTS

_logger = logging.getLogger(__name__)

JOB_SIZE = 50  # records per job: one create call to Xero
LIVE_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")
PRIORITY_GENERATE = 10
PRIORITY_RETRY = 20


class XeroBillRecordQueue(models.Model):
    _inherit = "xero.bill.record"  # pylint: disable=consider-merging-classes-inherited

    job_uuid = fields.Char(
        string="Push Job", readonly=True, copy=False, help="The queue job pushing this bill."
    )
    push_progress = fields.Selection(
        [
            ("draft", "Draft"),
            ("queued", "Queued"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
        ],
        string="Progress",
        compute="_compute_push_progress",
        help="Sending: its push job is running now.",
    )

    def _xero_job_states(self):
        """job uuid -> state of the records' queue jobs (empty without queue_job)."""
        uuids = [uuid for uuid in self.sudo().mapped("job_uuid") if uuid]
        if not uuids or not queue_job_installed(self.env):
            return {}
        jobs = self.env["queue.job"].sudo().search_read([("uuid", "in", uuids)], ["uuid", "state"])
        return {job["uuid"]: job["state"] for job in jobs}

    @api.depends("state", "job_uuid")
    def _compute_push_progress(self):
        states = self._xero_job_states()
        for record in self:
            started = states.get(record.sudo().job_uuid) == "started"
            record.push_progress = "sending" if record.state == "queued" and started else record.state

    # ------------------------------------------------------------------ enqueue

    @api.model
    def _xero_queue_available(self):
        """Whether pushes run as queue jobs: queue_job is installed and the caller does not push now."""
        return queue_job_installed(self.env) and not self.env.context.get("xero_push_now")

    def _xero_push_or_enqueue(self, priority=PRIORITY_GENERATE):
        """Push the records now, or enqueue them when queue_job is installed. Returns whether they were queued."""
        if not self._xero_queue_available():
            self._xero_push()
            return False
        self._xero_enqueue(priority=priority)
        return True

    def _xero_enqueue(self, priority=PRIORITY_GENERATE, eta=None):
        """Enqueue push jobs for the records that have none waiting or running (superuser, after the checks).
        The job running now (its records to try again later) is about to end: it does not count."""
        states = self._xero_job_states()
        running = self.env.context.get("job_uuid")
        todo = self.filtered(lambda r: r.job_uuid == running or states.get(r.job_uuid) not in LIVE_JOB_STATES)
        for connection, group in todo.grouped("connection_id").items():
            if not connection:  # nothing to send it with: the push says so on each record now
                group._xero_push()
                continue
            channel = connection._xero_job_channel()
            for ids in split_every(JOB_SIZE, sorted(group.ids)):
                records = self.browse(ids)
                job = records.with_delay(
                    channel=channel,
                    priority=priority,
                    eta=eta,
                    max_retries=MAX_ATTEMPTS,
                    identity_key=records._xero_job_identity(),
                    description=self.env._("Push %s bill(s) or journal(s) to Xero", len(records)),
                )._xero_job_push()
                records.write({"job_uuid": job.uuid})
        todo.filtered("job_uuid").payslip_run_id.write({"xero_pushing": True})
        return todo

    def _xero_job_identity(self):
        """The same records make the same key: queue_job does not enqueue a key waiting already."""
        ids = ",".join(str(record_id) for record_id in sorted(self.ids))
        return hashlib.sha1(f"hr_payroll_xero.push:{self._name}:{ids}".encode()).hexdigest()  # noqa: S324

    # ------------------------------------------------------------------ the job

    def _xero_job_push(self):
        """Push bills to Xero (a queue job; the records, their order and their state are checked again)."""
        records = self.exists().filtered(
            lambda r: r.state in ("draft", "queued", "failed") or r.pending_update
        )
        if not records:
            return "Nothing left to push."
        records._xero_push()
        retry = records.filtered(lambda r: r.state == "failed" and r.retryable and r.next_attempt_at)
        if retry and retry == records and not self._xero_job_last_try():
            # Nothing changed in Xero that the records must remember: roll back and let queue_job try again
            # when Xero said (Retry-After) or the back-off says.
            wait = (min(retry.mapped("next_attempt_at")) - fields.Datetime.now()).total_seconds()
            raise retryable_job_error(retry[:1].last_error or "Xero is busy", seconds=max(1, math.ceil(wait)))
        if retry:  # the others are done: keep them, and push these again at their time
            for when, group in retry.grouped("next_attempt_at").items():
                group._xero_enqueue(priority=PRIORITY_RETRY, eta=when)
        self._xero_after_job(records.payslip_run_id.ids)
        sent = records.filtered(lambda r: r.state == "sent")
        return f"{len(sent)} sent, {len(records) - len(sent)} not sent, {len(retry)} to retry."

    def _xero_job_last_try(self):
        """Whether the running job may not be retried any more (queue_job would fail it)."""
        uuid = self.env.context.get("job_uuid")
        job = self.env["queue.job"].sudo().search([("uuid", "=", uuid)], limit=1) if uuid else None
        return bool(job) and bool(job.max_retries) and job.retry + 1 >= job.max_retries

    def _xero_after_job(self, run_ids):
        """Once the job's transaction is committed, tell the batches' users when their last job is done."""
        if not run_ids:
            return
        registry = self.env.registry

        def notify():
            with registry.cursor() as cr:
                if not modules.module.current_test:
                    # Each statement sees what other jobs committed, after the batch rows are locked.
                    cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                env = api.Environment(cr, self.env.uid, {}, su=True)
                env["hr.payslip.run"].browse(run_ids)._xero_notify_pushed()

        self.env.cr.postcommit.add(notify)

    # ------------------------------------------------------------------ the retry cron

    @api.model
    def _xero_enqueue_due(self, domain):
        """The retry cron with queue_job: enqueue every due record (jobs skip what is pushed meanwhile)."""
        records = self.sudo().search(domain, order="id")
        return records._xero_enqueue(priority=PRIORITY_RETRY)
