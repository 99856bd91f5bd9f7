# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Pushes as OCA queue_job jobs: run only where queue_job is installed (it is an optional dependency)."""

import unittest
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..models.compat import queue_job_installed
from .common import XeroPayrollCase


@tagged("post_install", "-at_install")
class TestQueuedPush(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not queue_job_installed(cls.env):
            raise unittest.SkipTest("queue_job is not installed in this database")
        cls.env = cls.env(context=dict(cls.env.context, xero_push_now=False))
        cls.batch = cls.batch.with_env(cls.env)
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.officer = cls.env.user

    def _invoices(self):
        return self.sandbox.invoices(self.DEMO_TENANT_ID)

    def _jobs(self, records=None):
        jobs = self.env["queue.job"].search([("model_name", "=", "xero.bill.record")], order="id")
        if records is not None:
            jobs = jobs.filtered(lambda job: job.uuid in records.mapped("job_uuid"))
        return jobs

    def _generate(self):
        wizard = self.env["xero.bill.generate"].create({"run_ids": [(6, 0, self.batch.ids)]})
        return wizard.action_confirm(), self.batch.xero_record_ids

    def _run_jobs(self):
        """What queue_job's runner does with each pending job: start it, perform it in its transaction (here a
        savepoint), and on RetryableJobError roll it back and postpone it."""
        from odoo.addons.queue_job.exception import RetryableJobError
        from odoo.addons.queue_job.job import Job

        results = {}
        for stored in self._jobs().filtered(lambda job: job.state in ("pending", "enqueued")):
            job = Job.load(self.env, stored.uuid)
            job.set_started()
            job.store()
            try:
                with self.env.cr.savepoint():
                    job.perform()
            except RetryableJobError as err:
                self.env.invalidate_all()
                job.postpone(result=str(err), seconds=err.seconds)
                job.set_pending(reset_retry=False)
                results[stored.uuid] = err
            else:
                job.set_done()
                results[stored.uuid] = job.result
            job.store()
        self.env.cr.postcommit.run()  # what the job's commit would run: the batch's notice
        self.env.invalidate_all()
        return results

    def test_generate_enqueues_jobs_on_the_organisations_channel_and_returns_at_once(self):
        action, records = self._generate()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["next"]["res_model"], "xero.bill.record")
        self.assertEqual(len(records), 5)  # four employees' net salaries and the MPF bill
        self.assertEqual(set(records.mapped("state")), {"queued"})
        self.assertEqual(self._invoices(), [])  # nothing sent inside the request
        jobs = self._jobs()
        self.assertEqual(len(jobs), 1)  # one organisation, one create call
        self.assertEqual(jobs.channel, f"root.xero.{self.DEMO_TENANT_ID.split('-')[0]}")
        self.assertTrue(jobs.identity_key)
        self.assertEqual(
            self.env["queue.job.channel"].search_count([("complete_name", "=", jobs.channel)]), 1
        )
        self.assertEqual(set(records.mapped("job_uuid")), {jobs.uuid})
        self.assertEqual((self.batch.xero_queued_count, self.batch.xero_sent_count), (5, 0))
        self.assertTrue(self.batch.xero_pushing)

    def test_enqueuing_the_same_records_twice_is_a_no_op(self):
        _action, records = self._generate()
        self._generate()
        records.sudo()._xero_enqueue()
        records[:2].sudo()._xero_enqueue()
        self.assertEqual(len(self._jobs()), 1)
        job = self._jobs()
        # the identity key alone also refuses a second job of the same records while the first waits
        records.sudo().write({"job_uuid": False})
        records.sudo()._xero_enqueue()
        self.assertEqual(self._jobs(), job)

    def test_the_jobs_push_the_bills_and_whoever_generated_them_is_notified(self):
        _action, records = self._generate()
        self._run_jobs()
        self.assertEqual(set(records.mapped("state")), {"sent"})
        self.assertEqual(len(self._invoices()), 5)
        self.assertEqual(self._jobs().state, "done")
        self.assertEqual((self.batch.xero_queued_count, self.batch.xero_sent_count), (0, 5))
        self.assertFalse(self.batch.xero_pushing)
        notice = self.batch.message_ids.filtered(lambda m: "are pushed" in (m.body or ""))
        self.assertEqual(len(notice), 1)
        self.assertIn("5 sent, 0 failed", notice.body)
        self.assertIn(self.officer.partner_id, notice.partner_ids)

    def test_a_job_that_hits_a_429_is_retried_at_retry_after_and_creates_each_bill_once(self):
        _action, records = self._generate()
        self.sandbox.faults.rate_limit_next(1, retry_after=600, problem="minute", method="PUT")
        [outcome] = self._run_jobs().values()
        self.assertEqual(type(outcome).__name__, "RetryableJobError")
        self.assertTrue(595 <= outcome.seconds <= 601, outcome.seconds)
        job = self._jobs()
        self.assertEqual(job.state, "pending")
        self.assertGreater(job.eta, fields.Datetime.now() + timedelta(seconds=590))
        self.assertEqual(set(records.mapped("state")), {"queued"})  # rolled back: nothing to remember
        self.assertEqual(self.batch.xero_queued_count, 5)
        self._run_jobs()  # queue_job runs it again at its eta
        self.assertEqual(set(records.mapped("state")), {"sent"})
        self.assertEqual(
            sorted(i["InvoiceNumber"] for i in self._invoices()), sorted(records.mapped("invoice_number"))
        )

    def test_a_job_that_hits_5xx_is_retried_and_creates_each_bill_once(self):
        _action, records = self._generate()
        self.sandbox.faults.fail_next(10, status=503, method="PUT")
        [outcome] = self._run_jobs().values()
        self.assertEqual(type(outcome).__name__, "RetryableJobError")
        self.assertEqual(self._jobs().state, "pending")
        self.sandbox.faults.clear()
        self._run_jobs()
        self.assertEqual(set(records.mapped("state")), {"sent"})
        self.assertEqual(len(self._invoices()), 5)

    def test_a_job_out_of_retries_keeps_the_bills_failed_and_enqueues_them_again_at_their_time(self):
        _action, records = self._generate()
        job = self._jobs()
        job.retry = job.max_retries - 1  # queue_job would fail it on one more RetryableJobError
        self.sandbox.faults.fail_next(10, status=503, method="PUT")
        [outcome] = self._run_jobs().values()
        self.assertIn("0 sent, 5 not sent, 5 to retry", outcome)  # done, not failed: nothing lost
        self.assertEqual(job.state, "done")
        self.assertEqual(set(records.mapped("state")), {"failed"})
        self.assertTrue(all(records.mapped("next_attempt_at")))
        self.assertEqual(self._invoices(), [])
        again = self._jobs(records)
        self.assertEqual(len(again), 1)
        self.assertNotEqual(again, job)
        self.assertEqual((again.state, again.priority), ("pending", 20))
        self.assertEqual(again.eta, min(records.mapped("next_attempt_at")))
        self.sandbox.faults.clear()
        self._run_jobs()
        self.assertEqual(set(records.mapped("state")), {"sent"})
        self.assertEqual(
            sorted(i["InvoiceNumber"] for i in self._invoices()), sorted(records.mapped("invoice_number"))
        )

    def test_uninstalling_removes_the_modules_jobs_only(self):
        from ..hooks import remove_queue_jobs

        self._generate()
        ours = self._jobs()
        self.assertTrue(ours)
        other = self.env["res.partner"].with_delay().exists()
        remove_queue_jobs(self.env)
        self.assertFalse(ours.exists())
        self.assertTrue(other.db_record().exists())

    def test_the_retry_cron_enqueues_due_failures_instead_of_pushing(self):
        _action, records = self._generate()
        self._run_jobs()
        failed = records[:1].sudo()
        failed.write(
            {
                "state": "failed",
                "retryable": True,
                "next_attempt_at": fields.Datetime.now() - timedelta(minutes=1),
            }
        )
        calls = len(self.sandbox.calls)
        self.env["xero.bill.record"]._cron_push_queued()
        self.assertEqual(len(self.sandbox.calls), calls)  # nothing sent by the cron itself
        job = self._jobs(failed)
        self.assertEqual((job.state, job.priority), ("pending", 20))
        self.env["xero.bill.record"]._cron_push_queued()  # its job waits: not enqueued again
        self.assertEqual(len(self._jobs()), 2)

    def test_a_bill_whose_job_runs_shows_as_sending(self):
        _action, records = self._generate()
        self._jobs().state = "started"
        self.env.invalidate_all()
        self.assertEqual(set(records.mapped("push_progress")), {"sending"})
        self.assertEqual((self.batch.xero_queued_count, self.batch.xero_sending_count), (0, 5))

    def test_a_journal_goes_through_the_same_jobs_once_even_when_its_job_runs_twice(self):
        self._xero_use_base_currency()
        self._xero_make_journal_type()
        _action, records = self._generate()
        journal = records.filtered(lambda r: r.document == "journal")
        self.assertEqual((len(records), journal.state), (6, "queued"))
        self._run_jobs()
        self.assertEqual(set(records.mapped("state")), {"sent"})
        self.assertTrue(journal.xero_id)
        # a job run again (its commit lost after Xero created the journal) finds it by its key
        xero_id = journal.xero_id
        journal.sudo().write({"xero_id": False, "state": "queued"})
        journal._xero_job_push()
        self.assertEqual((journal.state, journal.xero_id), ("sent", xero_id))
        self.assertEqual(len(self.sandbox.journals(self.DEMO_TENANT_ID)), 1)
