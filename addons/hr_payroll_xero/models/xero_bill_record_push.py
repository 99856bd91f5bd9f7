# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Push: the checks before sending, sending new bills, applying Xero's answers and the retry policy."""

import logging
import math
from datetime import timedelta

import psycopg2
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

from .utils import notification

try:
    from payroll_xero.errors import (
        OutcomeUnknown,
        RateLimited,
        ReconnectNeeded,
        ScopeMissing,
        ValidationFailed,
        XeroError,
        XeroUnavailable,
    )
except ImportError:  # pragma: no cover - checked by external_dependencies
    OutcomeUnknown = RateLimited = ReconnectNeeded = ScopeMissing = ValidationFailed = XeroError = (
        XeroUnavailable
    ) = Exception

from .const import (
    MAX_ATTEMPTS,
    MAX_CONTACT_NAME,
    MAX_CONTACT_NUMBER,
    MAX_DESCRIPTION,
    USABLE_CONNECTION_STATES,
)

_logger = logging.getLogger(__name__)


class XeroBillRecordPush(models.Model):
    _inherit = "xero.bill.record"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------ checks before sending

    def _xero_local_problems(self):
        """record -> a sentence saying why it cannot be sent now (no connection, currency, accounts).

        The checks are the connection's ``_xero_bill_problems``, run on the bills parsed from the
        stored payloads (what would be sent), worded for a push.
        """
        problems = {}
        for (connection, company), records in self.grouped(lambda r: (r.connection_id, r.company_id)).items():
            bills = {record: record._xero_bill() for record in records}
            found = connection._xero_bill_problems(
                list(bills.values()), company, origin=self._xero_origin(bills)
            )
            for record, bill in bills.items():
                message = self._xero_problem_message(
                    connection, found.get(None), found.get(bill.invoice_number)
                )
                if message:
                    problems[record] = message
        return problems

    @api.model
    def _xero_origin(self, bills):
        """``origin(bill, line)`` for ``_xero_bill_problems``: the rule and type of the record's line."""
        origins = {}
        for record, bill in bills.items():
            rows = record.line_ids.sorted("sequence")
            origins.update(
                {id(line): record._xero_line_origin(row) for line, row in zip(bill.lines, rows, strict=False)}
            )
        return lambda bill, line: origins.get(id(line)) or line.description

    def _xero_problem_message(self, connection, common, own):
        """The push's wording around the connection's sentences about every bill and about this one."""
        if common and (not connection or connection.state not in USABLE_CONNECTION_STATES):
            return self.env._(
                "%(problems)s: connect it in Payroll > Xero > Connections, then push again.",
                problems="; ".join(common),
            )
        if common:
            return self.env._(
                "%(problems)s. Set the company's Xero currency to one of them (or enable it in Xero), "
                "then generate the bills again.",
                problems="; ".join(common),
            )
        if own:
            return self.env._(
                "Not sent: %(problems)s. Choose an active account on that line of the mapping type "
                "(Payroll > Xero > Mapping Types), then generate the bills again.",
                problems="; ".join(dict.fromkeys(own)),
            )
        return ""

    def _xero_line_origin(self, line):
        """'line "Basic Salary" of type "Income Additions"': where a bill line comes from."""
        rule = line.salary_rule_id
        return self.env._(
            'line "%(item)s" of mapping type "%(type)s"',
            item=rule.name if rule else line.pay_item or line.description,
            type=self.type_id.name or self.type_name,
        )

    # ------------------------------------------------------------------ push

    def action_push(self):
        """Push (or retry) the selected records now."""
        self._xero_check_action_access()
        records = self.sudo().filtered(lambda r: r.state in ("draft", "queued", "failed") or r.pending_update)
        if not records:
            raise UserError(self.env._("There is nothing to push: the selected bills are sent or cancelled."))
        records.write({"state": "queued", "next_attempt_at": False})
        records._xero_push()
        return records._xero_notify_outcome()

    action_retry = action_push

    def _xero_notify_outcome(self):
        sent = self.filtered(lambda r: r.state == "sent")
        failed = self - sent
        if failed:
            message = self.env._(
                "%(sent)s sent, %(failed)s not sent: %(errors)s",
                sent=len(sent),
                failed=len(failed),
                errors=" | ".join(f"{r.invoice_number}: {r.last_error}" for r in failed[:5]),
            )
        else:
            message = self.env._("%s bill(s) or journal(s) sent to Xero.", len(sent))
        return notification(self.env._("Xero"), message, warning=bool(failed))

    def _xero_lock(self):
        """The records of ``self`` no other transaction is pushing right now (row locks, skip locked)."""
        if not self:
            return self
        self.flush_recordset()
        self.env.cr.execute(
            "SELECT id FROM xero_bill_record WHERE id IN %s FOR UPDATE SKIP LOCKED", [tuple(self.ids)]
        )
        locked = {row[0] for row in self.env.cr.fetchall()}
        return self.filtered(lambda r: r.id in locked)

    def _xero_push(self):
        """Send the records to Xero: one ``create_bills`` call per connection, updates of drafts one by one.

        Called as superuser by the actions, after their access checks. Never raises for Xero's answers nor
        for one record's bad data: each record ends sent or failed with its reason.
        """
        records = self._xero_lock().filtered(
            lambda r: r.state in ("draft", "queued", "failed") or (r.pending_update and r.xero_id)
        )
        tampered = records.filtered(lambda r: not r._xero_payload_intact())
        for record in tampered:
            _logger.warning("Xero bill record %s: payload signature mismatch, not sent", record.id)
            record._xero_fail(record._xero_tampered_message(), retryable=False, count=False)
        records -= tampered
        problems = records._xero_local_problems()
        for record, message in problems.items():
            record._xero_fail(message, retryable=False, count=False)
        records -= self.browse([r.id for r in problems])
        for connection, group in records.grouped("connection_id").items():
            group._xero_push_connection(connection)
        return True

    def _xero_push_connection(self, connection):
        try:
            client = connection._xero_client()
        except UserError as exc:
            for record in self:
                record._xero_fail(str(exc), retryable=False, count=False)
            return
        self._xero_remember_contacts(client)
        creates = self.filtered(lambda r: not r.xero_id)
        updates = self - creates
        creates._xero_count_attempt()
        bills = creates.filtered(lambda r: r.document == "bill")
        journals = creates - bills
        results = bills._xero_create_in_xero(client, [record._xero_bill() for record in bills])
        # Manual journals in a call of their own: a connection without their scope still sends its bills.
        results += journals._xero_create_in_xero(
            client, [record._xero_bill() for record in journals], create=client.create_journals
        )
        for record in updates | creates.filtered("pending_update"):
            record._xero_update_in_xero(client)
        creates._xero_store_contacts(results)
        # Once the documents exist: their batch summaries (a failure there leaves the bill sent).
        self._xero_attach_summaries(client, {r.invoice_number for r in results if r.ok and r.created})

    def _xero_create_in_xero(self, client, bills, create=None):
        """Create ``bills`` (the bills of ``self``, in order) in Xero in one call; returns Xero's results.

        ``create`` is the client's call that makes them: ``create_bills`` by default, ``create_journals`` for
        manual journals (found by their key before anything is created, as bills by their number).

        When the call fails on something that is neither Xero's answer nor a known problem (the SDK raises
        ``ValueError`` for a value over Xero's limits, e.g. a ContactNumber over 50 characters), the bills
        are sent again in halves until the record at fault fails alone and the others go: each call looks
        its bills up first, so a bill created before the failure is found, never created twice.
        """
        if not self:
            return []
        create = create or client.create_bills
        try:
            results = create(bills)
        except psycopg2.Error:
            raise  # the transaction is lost: the cron's savepoint deals with it
        except (XeroError, UserError) as exc:
            results = list(getattr(exc, "partial_results", ()))
            done = self._xero_apply_results(results)
            (self - done)._xero_fail_from(exc)
            return results
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if len(self) == 1:
                self._xero_fail_unexpected(exc)
                return []
            half = len(self) // 2
            first, second = self[:half], self[half:]
            return first._xero_create_in_xero(client, bills[:half], create) + second._xero_create_in_xero(
                client, bills[half:], create
            )
        self._xero_apply_results(results)
        numbers = {result.invoice_number for result in results}
        for record in self.filtered(lambda r: r.invoice_number not in numbers):
            record._xero_fail(
                self.env._("Xero's answer does not mention this bill: push it again."), count=False
            )
        return results

    def _xero_count_attempt(self):
        for record in self:
            record.attempts += 1

    def _xero_apply_results(self, results):
        """Write Xero's answers on the records; returns the records that got one."""
        by_number = {record.invoice_number: record for record in self}
        done = self.browse()
        for result in results:
            record = by_number.get(result.invoice_number)
            if not record:
                continue
            done |= record
            if result.ok:
                record.write(
                    {
                        "state": "sent",
                        "xero_id": result.xero_id,
                        "xero_status": result.status,
                        "retryable": False,
                        "next_attempt_at": False,
                        "last_error": False,
                        "pending_update": False,
                        "sent_at": fields.Datetime.now(),
                    }
                )
                differences = record._xero_found_differences(result)
                if differences:
                    # An earlier push whose answer was lost created it, then the batch changed: the update
                    # that follows in the same push gives it the record's content.
                    record.pending_update = True
                    body = Markup("%s<ul>%s</ul>") % (
                        self.env._(
                            "Found in Xero (%(status)s) with another content: it is updated with the batch's.",
                            status=result.status,
                        ),
                        Markup().join(Markup("<li>%s</li>") % difference for difference in differences),
                    )
                elif result.already_existed:
                    body = self.env._(
                        "Found in Xero (%(status)s): it was already created.", status=result.status
                    )
                else:
                    body = self.env._("Created in Xero (%(status)s).", status=result.status)
                if result.warnings:
                    body += " " + self.env._("Xero warns: %s", "; ".join(result.warnings))
                record.message_post(body=body)
            else:
                record._xero_fail(
                    self.env._(
                        "Xero refused the %(kind)s: %(errors)s. Fix the mapping type or the organisation's "
                        "settings in Xero, then generate the bills again.",
                        kind=record._xero_kind_label().lower(),
                        errors="; ".join(result.errors),
                    ),
                    retryable=False,
                    count=False,
                )
        return done

    def _xero_found_differences(self, result):
        """Sentences saying how the bill Xero already had differs from this record (empty: it does not):
        lines, accounts, contact, dates and total, compared by the sidecar (``PushResult.differences``)."""
        self.ensure_one()
        return tuple(result.differences) if result.already_existed else ()

    def _xero_failure_advice(self):
        """What the record says after each kind of failure, most specific class first: a table, not a chain."""
        return (
            (
                OutcomeUnknown,
                self.env._("Xero may have received it: the next push looks it up before sending again."),
            ),
            (
                ScopeMissing,
                self.env._(
                    "A Xero manager clicks Connect to Xero on the connection (Payroll > Xero > Connections) and "
                    "allows manual journals; then push the journal again (it is kept as generated)."
                ),
            ),
            (RateLimited, self.env._("The bill is sent automatically then.")),
            (XeroUnavailable, self.env._("The cron tries again later.")),
            (ReconnectNeeded, self.env._("Then push the bill again.")),
            (ValidationFailed, self.env._("Fix it, then generate the bills again.")),
        )

    def _xero_next_attempt(self, exc):
        """When the cron tries again, from the error's own retry policy (``retryable``, ``retry_after``
        seconds, as queue_job's ``RetryableJobError`` carries ``seconds``): not at all when a person
        must act first; after ``retry_after`` when Xero said how long; else an exponential back-off
        (5, 10, 20... minutes by attempt). A ``UserError`` (e.g. the Xero id points at another document)
        is ours to fix: never retried."""
        if isinstance(exc, UserError) or not getattr(exc, "retryable", True):
            return False
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return fields.Datetime.now() + timedelta(seconds=math.ceil(retry_after))
        return fields.Datetime.now() + timedelta(minutes=5 * 2 ** max(0, self.attempts - 1))

    def _xero_fail_from(self, exc):
        """Mark the records failed after ``exc`` stopped a push; temporary failures stay retryable."""
        text = str(exc.args[0] if isinstance(exc, UserError) and exc.args else exc)
        advice = next((note for kind, note in self._xero_failure_advice() if isinstance(exc, kind)), None)
        message = f"{text} {advice}" if advice else text
        if advice is None and not isinstance(exc, UserError):
            _logger.warning("Xero push of records %s failed: %s", self.ids, text)
        for record in self:
            next_attempt = record._xero_next_attempt(exc)
            record._xero_fail(
                message, retryable=bool(next_attempt), count=False, next_attempt=next_attempt or None
            )

    def _xero_fail_unexpected(self, exc):
        """Mark the records failed after an error that is neither Xero's answer nor a known problem: most
        often a value the SDK refuses (``ValueError``: over one of Xero's limits). Sending the same bill
        again gives the same error, so the cron leaves it: it waits for a person."""
        _logger.warning("Xero push of records %s failed unexpectedly", self.ids, exc_info=True)
        # The SDK's ValueError names the field and the limit; other exceptions may carry anything.
        detail = str(exc)[:500] if isinstance(exc, (ValueError, TypeError)) else type(exc).__name__
        for record in self:
            record._xero_fail(
                self.env._(
                    "Xero cannot take this bill (%(error)s). Fix the data it comes from (a contact number "
                    "holds at most %(contact)s characters, a contact name %(name)s, a line description "
                    "%(description)s), generate the bills again, then push.",
                    error=detail,
                    contact=MAX_CONTACT_NUMBER,
                    name=MAX_CONTACT_NAME,
                    description=MAX_DESCRIPTION,
                ),
                retryable=False,
                count=False,
            )

    def _xero_fail(self, message, retryable=True, count=True, next_attempt=None):
        self.ensure_one()
        if count:
            self.attempts += 1
        if retryable and self.attempts >= MAX_ATTEMPTS:
            retryable = False
            message = self.env._(
                "%(message)s Gave up after %(n)s attempts: press Retry when Xero works again.",
                message=message,
                n=self.attempts,
            )
        self.write(
            {
                "state": "failed",
                "retryable": retryable,
                "next_attempt_at": next_attempt if retryable else False,
                "last_error": message,
            }
        )
        self.message_post(body=self.env._("Not sent to Xero: %s", message))
        _logger.info("Xero bill record %s (%s) failed: %s", self.id, self.invoice_number, message)
