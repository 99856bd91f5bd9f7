# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""When and how a bill is sent: one record per Xero bill or credit note of a payslip batch.

The bill itself (lines, amounts, credit note or not) comes from the sidecar's ``build_bills``;
this model keeps what was built (the exact payload and its hash), sends it through the
sidecar's client, and remembers what Xero answered.
"""

import dataclasses
import io
import json
import logging
from datetime import timedelta, timezone

from odoo import api, fields, models, modules
from odoo.exceptions import UserError

try:
    from payroll_xero.bills import ACCPAY, ACCPAYCREDIT, Bill, content_digest
    from payroll_xero.errors import (
        OutcomeUnknown,
        RateLimited,
        ReconnectNeeded,
        ValidationFailed,
        XeroError,
        XeroUnavailable,
    )
except ImportError:  # pragma: no cover - checked by external_dependencies
    ACCPAY, ACCPAYCREDIT = "ACCPAY", "ACCPAYCREDIT"
    Bill = content_digest = None
    OutcomeUnknown = RateLimited = ReconnectNeeded = ValidationFailed = XeroError = XeroUnavailable = (
        Exception
    )

_logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # automatic attempts of the cron before a record waits for a person
CRON_CHUNK = 200  # records per cron run and connection; the cron re-triggers itself when more are left
XERO_WEB = "https://go.xero.com"
LIVE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID")
EDITABLE_STATUSES = ("DRAFT", "SUBMITTED")
TAB = "\t"
# Columns of a bill line, in the order of ``_xero_line_rows``.
LINE_FIELDS = (
    "sequence",
    "account_code",
    "account_id",
    "description",
    "amount",
    "pay_item",
    "salary_rule_id",
    "tracking",
)


def _copy_text(value):
    """``value`` as a field of PostgreSQL's COPY text format (None/False is NULL)."""
    if value is None or value is False:
        return "\\N"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


class _CopyTexts(dict):
    """Memo of ``_copy_text`` for ids and strings: the lines of a batch's bills repeat the same account
    codes, descriptions and pay items. Not for numbers that may be 0 (0 and False are the same key)."""

    def __missing__(self, value):
        text = self[value] = _copy_text(value)
        return text


class XeroBillRecord(models.Model):
    _name = "xero.bill.record"
    _description = "Xero Bill Record"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _rec_name = "invoice_number"

    invoice_number = fields.Char(
        string="Bill Number",
        required=True,
        readonly=True,
        index=True,
        help="Stable number of the bill (BATCH/TYPE[/EMPLOYEE]); Xero shows it as the bill's reference.",
    )
    payslip_run_id = fields.Many2one(
        "hr.payslip.run",
        string="Payslip Batch",
        required=True,
        readonly=True,
        ondelete="restrict",
        index=True,
    )
    type_id = fields.Many2one("xero.mapping.type", string="Mapping Type", readonly=True, ondelete="set null")
    type_name = fields.Char(readonly=True)
    employee_id = fields.Many2one("hr.employee", readonly=True, ondelete="restrict", index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    connection_id = fields.Many2one("xero.connection", readonly=True, ondelete="restrict")
    doc_type = fields.Selection(
        [(ACCPAY, "Bill"), (ACCPAYCREDIT, "Credit Note")],
        string="Document Type",
        required=True,
        readonly=True,
    )
    contact_name = fields.Char(string="Xero Contact", readonly=True)
    contact_number = fields.Char(readonly=True)
    date = fields.Date(readonly=True)
    due_date = fields.Date(readonly=True)
    currency_code = fields.Char(readonly=True)
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id")
    total = fields.Monetary(readonly=True, currency_field="currency_id")
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("queued", "Queued"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
        copy=False,
    )
    xero_id = fields.Char(string="Xero ID", readonly=True, copy=False, index=True)
    xero_status = fields.Char(readonly=True, copy=False, tracking=True)
    xero_url = fields.Char(string="Open in Xero", compute="_compute_xero_url")
    odoo_url = fields.Char(string="Link Sent to Xero", readonly=True, copy=False)
    attempts = fields.Integer(readonly=True, copy=False)
    retryable = fields.Boolean(
        readonly=True,
        copy=False,
        help="The last failure was temporary (Xero busy or unavailable): the cron tries again.",
    )
    next_attempt_at = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    pending_update = fields.Boolean(
        readonly=True,
        copy=False,
        help="The batch changed: the draft bill in Xero is updated at the next push.",
    )
    sync_note = fields.Text(
        string="Differs From the Batch",
        readonly=True,
        copy=False,
        help="Why the bill in Xero no longer matches the batch and was left as it is.",
    )
    payload = fields.Text(readonly=True, copy=False, help="The bill exactly as it is sent to Xero (JSON).")
    payload_display = fields.Text(string="Payload (indented)", compute="_compute_payload_display")
    content_hash = fields.Char(readonly=True, copy=False, index=True)
    generated_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    generated_at = fields.Datetime(readonly=True, copy=False)
    sent_at = fields.Datetime(readonly=True, copy=False)
    line_ids = fields.One2many("xero.bill.record.line", "record_id", string="Lines", readonly=True)

    _sql_constraints = [
        (
            "number_company_uniq",
            "unique(company_id, invoice_number)",
            "A bill number exists once per company: generate again instead of copying a record.",
        ),
    ]

    # ------------------------------------------------------------------ computes

    @api.depends("currency_code")
    def _compute_currency_id(self):
        codes = set(self.mapped("currency_code")) - {False}
        currencies = (
            self.env["res.currency"].with_context(active_test=False).search([("name", "in", list(codes))])
        )
        by_code = {currency.name: currency for currency in currencies}
        for record in self:
            record.currency_id = by_code.get(record.currency_code, record.company_id.currency_id)

    @api.depends("payload")
    def _compute_payload_display(self):
        """The stored payload is compact (it is hashed as is); people read it indented."""
        for record in self:
            try:
                record.payload_display = json.dumps(json.loads(record.payload), indent=2, sort_keys=True)
            except (TypeError, ValueError):
                record.payload_display = record.payload

    @api.depends("xero_id", "doc_type", "connection_id")
    def _compute_xero_url(self):
        default_api = XERO_WEB
        for record in self:
            if not record.xero_id:
                record.xero_url = False
                continue
            api_url = record.connection_id._xero_endpoints().api_url if record.connection_id else ""
            if api_url and "api.xero.com" not in api_url:
                # The local sandbox lists every document on its home page.
                record.xero_url = f"{api_url}/#{record.xero_id}"
            elif record.doc_type == ACCPAYCREDIT:
                record.xero_url = (
                    f"{default_api}/AccountsPayable/ViewCreditNote.aspx?creditNoteID={record.xero_id}"
                )
            else:
                record.xero_url = f"{default_api}/AccountsPayable/View.aspx?InvoiceID={record.xero_id}"

    # ------------------------------------------------------------------ building

    def _xero_odoo_url(self):
        """The link back to this record that the bill carries (stable: it is part of the content hash)."""
        self.ensure_one()
        return self._xero_odoo_urls()[0]

    def _xero_odoo_urls(self):
        """``_xero_odoo_url`` of each record of ``self``, in order (the base URL is read once)."""
        if not self:
            return []
        base_url = self[:1].get_base_url().rstrip("/")
        return [f"{base_url}/odoo/{self._name}/{record_id}" for record_id in self.ids]

    @api.model
    def _xero_dump(self, bill):
        """The payload stored for ``bill``: the canonical JSON of its content, whose digest is its hash."""
        return bill.content_json()

    def _xero_content_vals(self, bill, rules_by_key, accounts_by_code):
        """Values that describe ``bill`` (its content, hash and lines) on this record."""
        payload = self._xero_dump(bill)
        return dict(
            self._xero_header_vals(bill),
            payload=payload,
            content_hash=content_digest(payload),
            odoo_url=bill.url,
            line_ids=[(5, 0, 0)]
            + [(0, 0, vals) for vals in self._xero_line_vals(bill, rules_by_key, accounts_by_code)],
        )

    @api.model
    def _xero_header_vals(self, bill):
        """What the record shows of ``bill`` apart from its lines, payload and hash."""
        return {
            "doc_type": bill.doc_type,
            "contact_name": bill.contact_name,
            "contact_number": bill.contact_number,
            "date": bill.date,
            "due_date": bill.due_date,
            "currency_code": bill.currency,
            "total": float(bill.total),
            "generated_by_id": self.env.uid,
            "generated_at": fields.Datetime.now(),
        }

    @api.model
    def _xero_line_vals(self, bill, rules_by_key, accounts_by_code):
        return [
            dict(zip(LINE_FIELDS, row, strict=True))
            for row in self._xero_line_rows(bill, rules_by_key, accounts_by_code)
        ]

    @api.model
    def _xero_line_rows(self, bill, rules_by_key, accounts_by_code):
        """The values of ``bill``'s lines, as tuples in the order of ``LINE_FIELDS``."""
        get_account, get_rule = accounts_by_code.get, rules_by_key.get
        return [
            (
                idx,
                line.account_code,
                get_account(line.account_code, False),
                line.description,
                float(line.amount),
                line.pay_item,
                get_rule(line.pay_item, False),
                ", ".join(f"{cat}: {opt}" for cat, opt in line.tracking) or False,
            )
            for idx, line in enumerate(bill.lines)
        ]

    @api.model
    def _xero_create_from_bills(self, bills, vals_list, rules_by_key, accounts_by_code):
        """Create one record per bill, with its content and lines, in a number of queries that does not
        depend on the number of bills: a batch of 5,000 payslips makes 5,000 per-employee bills and
        130,000 bill lines, which one ORM create per record (or even one for all lines: a Monetary
        amount reads its currency through the record, line by line) takes minutes to store.

        The records are created by the ORM with no chatter work per record: no "created" message,
        no follower, no tracking of their initial state (their form shows who generated them and
        when; later changes are tracked and logged as usual). The link back to Odoo that each bill
        carries holds the record's id, known only once the record exists, and is part of the payload
        and of its hash: those three columns are then set with one UPDATE. The lines, plain values
        with no computed field depending on them, are streamed with one COPY (PostgreSQL's bulk load:
        for 130,000 lines it spares the client-side quoting of a multi-row INSERT, about 2 s).
        Returns the records.
        """
        records = self.with_context(
            tracking_disable=True, mail_notrack=True, mail_create_nolog=True, mail_create_nosubscribe=True
        ).create(
            [dict(vals, **self._xero_header_vals(bill)) for vals, bill in zip(vals_list, bills, strict=True)]
        )
        if not records:
            return records
        records = records.with_env(self.env)
        records.flush_recordset()
        bills = [
            dataclasses.replace(bill, url=url)
            for url, bill in zip(records._xero_odoo_urls(), bills, strict=True)
        ]
        cr = self.env.cr
        rows = []
        for record_id, bill in zip(records.ids, bills, strict=True):
            payload = self._xero_dump(bill)
            rows.append((record_id, payload, content_digest(payload), bill.url))
        cr.execute_values(
            "UPDATE xero_bill_record r SET payload = v.payload, content_hash = v.content_hash, "
            "odoo_url = v.odoo_url FROM (VALUES %s) AS v(id, payload, content_hash, odoo_url) "
            "WHERE r.id = v.id",
            rows,
            page_size=len(rows),
        )
        records.invalidate_recordset(["payload", "content_hash", "odoo_url"])
        Line = self.env["xero.bill.record.line"]
        Line.check_access("create")
        # The ORM's create_date of the records (the transaction's time), and its create_uid.
        meta = TAB.join(_copy_text(value) for value in (self.env.uid, self.env.uid, cr.now(), cr.now()))
        text = _CopyTexts()
        out = io.StringIO()
        for record_id, vals, bill in zip(records.ids, vals_list, bills, strict=True):
            head = f"{record_id}\t{text[vals['company_id']]}\t"
            out.writelines(
                f"{head}{sequence}\t{text[code]}\t{text[account]}\t{text[description]}\t{amount!r}\t"
                f"{text[item]}\t{text[rule]}\t{text[tracking]}\t{meta}\n"
                for sequence, code, account, description, amount, item, rule, tracking in self._xero_line_rows(
                    bill, rules_by_key, accounts_by_code
                )
            )
        if out.tell():
            out.seek(0)
            # One statement, as the INSERT it replaces (Odoo's query counter does not see a COPY).
            cr.copy_expert(
                "COPY xero_bill_record_line (record_id, company_id, {}, create_uid, write_uid, create_date, "
                "write_date) FROM STDIN".format(", ".join(LINE_FIELDS)),
                out,
            )
            records.invalidate_recordset(["line_ids"])
        return records

    def _xero_bill(self):
        """The sidecar Bill stored on this record, exactly as it was built."""
        self.ensure_one()
        bill = Bill.from_content(
            json.loads(self.payload),
            type_name=self.type_name or "",
            pay_items=[line.pay_item or "" for line in self.line_ids.sorted("sequence")],
        )
        if bill.content_hash() != self.content_hash:  # pragma: no cover - a stored payload is never edited
            raise UserError(
                self.env._(
                    "Bill %s was altered after it was generated: generate it again.", self.invoice_number
                )
            )
        return bill

    # ------------------------------------------------------------------ checks before sending

    def _xero_local_problems(self):
        """record -> a sentence saying why it cannot be sent now (no connection, currency, accounts)."""
        problems = {}
        Account = self.env["xero.account"].with_context(active_test=False)
        for connection, records in self.grouped("connection_id").items():
            if not connection or connection.state not in ("connected", "error"):
                for record in records:
                    problems[record] = self.env._(
                        "%(company)s has no connected Xero organisation: connect it in Payroll > Xero > "
                        "Connections, then push again.",
                        company=record.company_id.name,
                    )
                continue
            allowed = connection._xero_enabled_currencies()
            codes = set(records.line_ids.mapped("account_code"))
            accounts = {
                a.code: a
                for a in Account.search([("connection_id", "=", connection.id), ("code", "in", list(codes))])
            }
            for record in records:
                if allowed and record.currency_code not in allowed:
                    problems[record] = self.env._(
                        "The Xero organisation %(org)s is not subscribed to %(code)s; it allows %(allowed)s. "
                        "Set the company's Xero currency to one of them (or enable %(code)s in Xero), "
                        "then generate the bills again.",
                        org=connection.tenant_name or connection.name,
                        code=record.currency_code,
                        allowed=", ".join(allowed),
                    )
                    continue
                messages = []
                for line in record.line_ids:
                    account = accounts.get(line.account_code)
                    where = record._xero_line_origin(line)
                    if not account:
                        messages.append(
                            self.env._(
                                "account %(code)s (%(where)s) does not exist in Xero",
                                code=line.account_code,
                                where=where,
                            )
                        )
                    elif reason := account._xero_unpostable_reason():
                        messages.append(
                            self.env._(
                                "account %(account)s (%(where)s) %(reason)s",
                                account=account.display_name,
                                where=where,
                                reason=reason,
                            )
                        )
                if messages:
                    problems[record] = self.env._(
                        "Not sent: %(problems)s. Choose an active account on that line of the mapping type "
                        "(Payroll > Xero > Mapping Types), then generate the bills again.",
                        problems="; ".join(dict.fromkeys(messages)),
                    )
        return problems

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
        records = self.filtered(lambda r: r.state in ("draft", "queued", "failed") or r.pending_update)
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
            message = self.env._("%s bill(s) sent to Xero.", len(sent))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Xero"),
                "message": message,
                "type": "warning" if failed else "success",
                "sticky": bool(failed),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

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

        Never raises for Xero's answers: each record ends sent or failed with its reason.
        """
        records = self._xero_lock().filtered(
            lambda r: r.state in ("draft", "queued", "failed") or (r.pending_update and r.xero_id)
        )
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
        bills = [record._xero_bill() for record in creates]
        results = []
        if bills:
            try:
                results = client.create_bills(bills)
            except (XeroError, UserError) as exc:
                results = list(getattr(exc, "partial_results", ()))
                done = creates._xero_apply_results(results)
                (creates - done)._xero_fail_from(exc)
            else:
                creates._xero_apply_results(results)
                missing = creates.filtered(
                    lambda r: r.invoice_number not in {x.invoice_number for x in results}
                )
                for record in missing:
                    record._xero_fail(
                        self.env._("Xero's answer does not mention this bill: push it again."), count=False
                    )
        for record in updates | creates.filtered("pending_update"):
            record._xero_update_in_xero(client)
        creates._xero_store_contacts(results)

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
                if result.already_existed and not record._xero_same_total(result.total):
                    # An earlier push whose answer was lost created it, then the batch changed.
                    record.pending_update = True
                    body = self.env._(
                        "Found in Xero (%(status)s) with another total (%(total)s): it is updated with "
                        "the batch's amounts.",
                        status=result.status,
                        total=result.total,
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
                        "Xero refused the bill: %(errors)s. Fix the mapping type or the organisation's "
                        "settings in Xero, then generate the bills again.",
                        errors="; ".join(result.errors),
                    ),
                    retryable=False,
                    count=False,
                )
        return done

    def _xero_same_total(self, total):
        """Whether Xero's ``total`` of this bill is the record's (to the currency's precision)."""
        self.ensure_one()
        if total is None:
            return True
        return self.currency_id.is_zero(float(total) - self.total)

    def _xero_fail_from(self, exc):
        """Mark the records failed after ``exc`` stopped a push; temporary failures stay retryable."""
        now = fields.Datetime.now()
        if isinstance(exc, RateLimited):
            retry_at = exc.retry_at
            if retry_at.tzinfo:
                retry_at = retry_at.astimezone(timezone.utc).replace(tzinfo=None)
            for record in self:
                record._xero_fail(
                    self.env._("%s The bill is sent automatically then.", exc),
                    retryable=True,
                    count=False,
                    next_attempt=retry_at,
                )
            return
        if isinstance(exc, (XeroUnavailable, OutcomeUnknown)):
            for record in self:
                delay = timedelta(minutes=5 * 2 ** max(0, record.attempts - 1))
                note = (
                    self.env._("Xero may have received it: the next push looks it up before sending again.")
                    if isinstance(exc, OutcomeUnknown)
                    else self.env._("The cron tries again later.")
                )
                record._xero_fail(f"{exc} {note}", retryable=True, count=False, next_attempt=now + delay)
            return
        if isinstance(exc, ReconnectNeeded):
            message = self.env._("%s Then push the bill again.", exc)
        elif isinstance(exc, ValidationFailed):
            message = self.env._("%s Fix it, then generate the bills again.", exc)
        elif isinstance(exc, UserError):
            message = str(exc.args[0] if exc.args else exc)
        else:
            message = str(exc)
            _logger.warning("Xero push of records %s failed: %s", self.ids, message)
            for record in self:
                record._xero_fail(
                    message, retryable=True, count=False, next_attempt=now + timedelta(minutes=10)
                )
            return
        for record in self:
            record._xero_fail(message, retryable=False, count=False)

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

    def _xero_update_in_xero(self, client):
        """Replace the content of the DRAFT/SUBMITTED bill in Xero by this record's payload."""
        self.ensure_one()
        self.attempts += 1
        credit = self.doc_type == ACCPAYCREDIT
        try:
            current = client.get_bill(self.xero_id, credit_note=credit)
            if current.status not in EDITABLE_STATUSES:
                self.write(
                    {
                        "state": "sent",
                        "xero_status": current.status,
                        "pending_update": False,
                        "sync_note": self.env._(
                            "The batch changed but Xero already has this bill as %(status)s, so it was not "
                            "updated. Cancel it in Xero (button Cancel in Xero), then generate the bills again.",
                            status=current.status,
                        ),
                    }
                )
                return
            result = client.update_draft_bill(self.xero_id, self._xero_bill())
        except (XeroError, UserError) as exc:
            self._xero_fail_from(exc)
            return
        self.write(
            {
                "state": "sent",
                "xero_status": result.status,
                "pending_update": False,
                "retryable": False,
                "next_attempt_at": False,
                "last_error": False,
                "sync_note": False,
                "sent_at": fields.Datetime.now(),
            }
        )
        self.message_post(body=self.env._("Updated in Xero with the batch's new amounts."))

    def _xero_remember_contacts(self, client):
        """Tell the client the ContactIDs already known for employees (spares a lookup per employee)."""
        for record in self.filtered(lambda r: r.employee_id and r.contact_number):
            contact_id = record.employee_id.sudo().xero_contact_id
            if contact_id:
                client.remember_contact(record.contact_name, record.contact_number, contact_id)

    def _xero_store_contacts(self, results):
        """Remember on each employee the ContactID Xero used for its bill."""
        contact_by_number = {r.invoice_number: r.contact_id for r in results if r.ok and r.contact_id}
        for record in self.filtered(lambda r: r.employee_id and r.contact_number):
            contact_id = contact_by_number.get(record.invoice_number)
            employee = record.employee_id.sudo()
            if contact_id and employee.xero_contact_id != contact_id:
                employee.xero_contact_id = contact_id

    @api.model
    def _cron_push_queued(self):
        """Every 10 minutes: push queued bills and retry temporary failures whose time has come.

        Each connection's chunk is committed on its own so that what Xero accepted is never
        forgotten because a later connection fails; the cron re-triggers itself when work is left.
        """
        now = fields.Datetime.now()
        domain = [
            "|",
            ("state", "=", "queued"),
            "&",
            ("state", "=", "failed"),
            ("retryable", "=", True),
            ("attempts", "<", MAX_ATTEMPTS),
            "|",
            ("next_attempt_at", "=", False),
            ("next_attempt_at", "<=", now),
        ]
        records = self.search(domain, order="id", limit=CRON_CHUNK + 1)
        more = len(records) > CRON_CHUNK
        for _connection, group in records[:CRON_CHUNK].grouped("connection_id").items():
            group._xero_push()
            if not modules.module.current_test:
                # Bills Xero accepted must stay recorded as sent even if a later chunk fails badly.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if more:
            self.env.ref("hr_payroll_xero.ir_cron_xero_push_queued")._trigger()
        return True

    # ------------------------------------------------------------------ cancel

    def action_cancel_in_xero(self):
        """Delete (draft/submitted) or void (approved, unpaid) the bills in Xero; paid ones are refused."""
        cancelled, refused = self.browse(), []
        changed_in_xero = False
        for connection, group in (
            self.filtered(lambda r: r.state != "cancelled").grouped("connection_id").items()
        ):
            client = None
            for record in group:
                if not record.xero_id and not record.attempts:
                    record._xero_cancel_locally()
                    cancelled |= record
                    continue
                try:
                    if client is None:
                        client = connection._xero_client()
                    if not record.xero_id and not record._xero_find_in_xero(client):
                        # Pushed, but Xero never got it: nothing to cancel there.
                        record._xero_cancel_locally()
                        cancelled |= record
                        continue
                    doc = client.cancel_bill(record.xero_id, credit_note=record.doc_type == ACCPAYCREDIT)
                except (XeroError, UserError) as exc:
                    message = exc.errors[0] if isinstance(exc, ValidationFailed) and exc.errors else str(exc)
                    refused.append((record, message))
                    continue
                changed_in_xero = True
                record.write(
                    {
                        "state": "cancelled",
                        "xero_status": doc.status,
                        "pending_update": False,
                        "sync_note": False,
                        "retryable": False,
                        "next_attempt_at": False,
                    }
                )
                record.message_post(body=self.env._("Cancelled in Xero (now %s).", doc.status))
                cancelled |= record
        if refused and not changed_in_xero:
            raise UserError(
                "\n".join(
                    self.env._(
                        "Bill %(number)s cannot be cancelled: %(reason)s", number=r.invoice_number, reason=m
                    )
                    for r, m in refused
                )
            )
        for record, message in refused:
            record.last_error = message
            record.message_post(body=self.env._("Not cancelled in Xero: %s", message))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Xero"),
                "message": self.env._("%(n)s bill(s) cancelled.", n=len(cancelled))
                + (" " + " | ".join(f"{r.invoice_number}: {m}" for r, m in refused) if refused else ""),
                "type": "warning" if refused else "success",
                "sticky": bool(refused),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _xero_find_in_xero(self, client):
        """Look up a bill pushed without a known answer; store its Xero id when Xero has it."""
        self.ensure_one()
        contact_id = client.find_contact(self.contact_name, self.contact_number or None)
        found = contact_id and client.find_bill(
            self.invoice_number, contact_id, credit_note=self.doc_type == ACCPAYCREDIT
        )
        if found:
            self.write({"xero_id": found.xero_id, "xero_status": found.status})
        return bool(found)

    def _xero_cancel_locally(self):
        self.write(
            {"state": "cancelled", "retryable": False, "next_attempt_at": False, "pending_update": False}
        )
        self.message_post(body=self.env._("Cancelled before it reached Xero."))

    # ------------------------------------------------------------------ misc

    def action_open_in_xero(self):
        self.ensure_one()
        if not self.xero_url:
            raise UserError(self.env._("Bill %s is not in Xero yet.", self.invoice_number))
        return {"type": "ir.actions.act_url", "url": self.xero_url, "target": "new"}

    @api.ondelete(at_uninstall=False)
    def _unlink_except_in_xero(self):
        for record in self:
            if record.xero_id and record.state != "cancelled":
                raise UserError(
                    self.env._(
                        "Bill %s is in Xero: cancel it in Xero before deleting it here.",
                        record.invoice_number,
                    )
                )
