# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The records of a batch's bills: one ``xero.bill.record`` per bill number, created, brought in line with
the batch as far as Xero lets them change, or flagged when the batch no longer produces them."""

import dataclasses

from odoo import models

from .const import EDITABLE_STATUSES


class HrPayslipRun(models.Model):
    _inherit = "hr.payslip.run"  # pylint: disable=consider-merging-classes-inherited

    def _xero_sync_records(self, prep, push=True):
        """Create or update one record per bill of ``prep``; returns them."""
        self.ensure_one()
        if not self.xero_reference:
            self.sudo().xero_reference = self._xero_default_reference()
        # Called by _xero_generate_bills after its access check: records are written as superuser only.
        Record = self.env["xero.bill.record"].sudo()
        numbers = [bill.invoice_number for bill in prep.bills]
        existing = Record.search(
            [
                ("company_id", "=", self.company_id.id),
                "|",
                ("invoice_number", "in", numbers),
                ("payslip_run_id", "=", self.id),
            ]
        )
        by_number = {record.invoice_number: record for record in existing}
        accounts_by_code = {
            code: account.id for code, account in prep.connection._xero_accounts_by_code().items()
        }
        state = "queued" if push else "draft"
        # New bills (all of them at the first generation) are created with their content in one go.
        new_bills = [bill for bill in prep.bills if bill.invoice_number not in by_number]
        created = Record._xero_create_from_bills(
            new_bills,
            [
                dict(self._xero_origin_vals(prep, bill), invoice_number=bill.invoice_number, state=state)
                for bill in new_bills
            ],
            prep.rule_ids_by_key,
            accounts_by_code,
        )
        by_number.update(zip([bill.invoice_number for bill in new_bills], created, strict=True))
        result = Record.browse([by_number[number].id for number in numbers])
        url_by_id = dict(zip(result.ids, result._xero_odoo_urls(), strict=True))
        created_ids = set(created.ids)
        for bill in prep.bills:
            record = by_number[bill.invoice_number]
            if record.id not in created_ids:
                bill = dataclasses.replace(bill, url=url_by_id[record.id])
                self._xero_update_record(record, bill, prep, accounts_by_code, state)
        self._xero_forget_records(existing - result)
        return result

    def _xero_origin_vals(self, prep, bill):
        """The values of a bill's record that say where it comes from."""
        mtype = prep.type_by_number.get(bill.invoice_number)
        employee = prep.employee_by_key.get(bill.employee_key) if bill.employee_key else None
        return {
            "payslip_run_id": self.id,
            "type_id": mtype.id if mtype else False,
            "type_name": mtype.name if mtype else bill.type_name,
            "employee_id": employee.id if employee else False,
            "company_id": self.company_id.id,
            "connection_id": prep.connection.id or False,
        }

    def _xero_update_record(self, record, bill, prep, accounts_by_code, state):
        """Bring an existing record in line with ``bill``, as far as Xero lets it change."""
        same = record.content_hash == bill.content_hash()
        if same and record._xero_payload_intact() and record.state != "cancelled":
            if record.sync_note:
                record.sync_note = False
            return
        content = record._xero_content_vals(bill, prep.rule_ids_by_key, accounts_by_code)
        if not record.xero_id or record.state == "cancelled":
            record.write(
                dict(
                    content,
                    **self._xero_origin_vals(prep, bill),
                    state=state,
                    xero_id=False,
                    xero_status=False,
                    attempts=0,
                    retryable=False,
                    next_attempt_at=False,
                    last_error=False,
                    sync_note=False,
                    pending_update=False,
                    xero_attachment_state=False,
                    xero_attachment_name=False,
                    xero_attachment_error=False,
                    xero_attachment_tries=0,
                    xero_attachment_next_at=False,
                )
            )
            record.message_post(body=self.env._("Generated again from the batch's current payslips."))
        elif record.xero_status in EDITABLE_STATUSES and record.doc_type == bill.doc_type:
            record.write(dict(content, state=state, pending_update=True, attempts=0, sync_note=False))
            record.message_post(
                body=self.env._("The batch changed: the draft bill in Xero is updated at the next push.")
            )
        elif same:
            # The stored bill was changed outside Odoo (its signature does not match) but the batch
            # gives what Xero has: the record gets the batch's bill back.
            record.write(content)
            record.message_post(body=self.env._("The stored bill was restored from the batch."))
        else:
            self._xero_note_left_as_is(record, bill)

    def _xero_note_left_as_is(self, record, bill):
        """Say on ``record`` that Xero keeps its bill although the batch now gives another one."""
        if record.document == "journal":
            note = self.env._(
                "The batch now gives a different manual journal (debits %(total)s %(currency)s) but Xero has this "
                "one as %(status)s, and a posted journal is never changed: it was left as it is. Cancel it in "
                "Xero (button Cancel in Xero voids it), then generate the bills again to post a new one.",
                total=bill.total,
                currency=bill.currency,
                status=record.xero_status,
            )
        else:
            note = self._xero_bill_left_note(record, bill)
        if record.sync_note != note:
            record.sync_note = note
            record.message_post(body=note)

    def _xero_bill_left_note(self, record, bill):
        return self.env._(
            "The batch now gives a different %(kind)s (total %(total)s %(currency)s) but Xero already "
            "has this one as %(status)s, so it was left as it is. Cancel it in Xero (button Cancel in "
            "Xero), then generate the bills again.",
            kind=self.env._("credit note") if bill.is_credit_note else self.env._("bill"),
            total=bill.total,
            currency=bill.currency,
            status=record.xero_status,
        )

    def _xero_forget_records(self, records):
        """The batch's ``records`` it no longer produces: cancelled here, or flagged when in Xero."""
        for record in records:
            if record.payslip_run_id != self or record.state == "cancelled":
                continue
            if not record.xero_id:
                record._xero_cancel_locally()
                record.last_error = self.env._("The batch no longer produces this bill.")
            else:
                record.sync_note = self.env._(
                    "The batch no longer produces this bill: cancel it in Xero if it should go."
                )
