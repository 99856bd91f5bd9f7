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

import psycopg2
from markupsafe import Markup

from odoo import api, fields, models, modules
from odoo.exceptions import AccessError, UserError
from odoo.tools import consteq
from odoo.tools.misc import hmac as odoo_hmac

from .utils import notification

try:
    from payroll_xero import bills as _sidecar_bills
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
    _sidecar_bills = None
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
# Xero's field limits (the sidecar's when it defines them): the Odoo fields that feed Xero have these sizes.
MAX_INVOICE_NUMBER = getattr(_sidecar_bills, "MAX_INVOICE_NUMBER", 255)
MAX_CONTACT_NUMBER = getattr(_sidecar_bills, "MAX_CONTACT_NUMBER", 50)
MAX_CONTACT_NAME = getattr(_sidecar_bills, "MAX_CONTACT_NAME", 255)
MAX_DESCRIPTION = getattr(_sidecar_bills, "MAX_DESCRIPTION", 4000)
MAX_TRACKING_NAME = getattr(_sidecar_bills, "MAX_TRACKING_NAME", 100)
# Scope of the HMAC that signs each stored payload with the database secret (see ``_xero_payload_signature``).
PAYLOAD_SCOPE = "hr_payroll_xero.bill_payload"
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
    _check_company_auto = True
    # Readers may log notes and schedule activities; the record itself is written by its actions only.
    _mail_post_access = "read"

    invoice_number = fields.Char(
        string="Bill Number",
        required=True,
        readonly=True,
        index=True,
        size=MAX_INVOICE_NUMBER,
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
    connection_id = fields.Many2one("xero.connection", readonly=True, ondelete="restrict", check_company=True)
    doc_type = fields.Selection(
        [(ACCPAY, "Bill"), (ACCPAYCREDIT, "Credit Note")],
        string="Document Type",
        required=True,
        readonly=True,
    )
    contact_name = fields.Char(string="Xero Contact", readonly=True, size=MAX_CONTACT_NAME)
    contact_number = fields.Char(readonly=True, size=MAX_CONTACT_NUMBER)
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
    payload_signature = fields.Char(
        readonly=True,
        copy=False,
        help="HMAC of the payload with the database secret: a payload changed outside Odoo is never sent.",
    )
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

    # ------------------------------------------------------------------ protection

    @api.model
    def _xero_writable_field(self, name):
        """Fields anyone who may read a record can change: its chatter, followers and activities."""
        return name.startswith(("message_", "activity_")) or name == "website_message_ids"

    def _xero_check_protected(self, names):
        """Refuse a change of the record's content, state or Xero link outside the record's own actions.

        The actions (generate, push, retry, cancel, the cron) check the user's group and company and then
        write as superuser; nothing else may set the payload, its hash and signature, the Xero id, the
        connection or the state. A context key would not do: the context of an RPC call is the caller's.
        """
        if self.env.su:
            return
        protected = sorted(name for name in names if not self._xero_writable_field(name))
        if protected:
            raise AccessError(
                self.env._(
                    "Xero bill records are changed only by their actions (Generate Xero Bills, Push, Retry, "
                    "Cancel in Xero): %(fields)s cannot be written directly.",
                    fields=", ".join(protected),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._xero_check_protected(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._xero_check_protected(vals)
        return super().write(vals)

    def _xero_check_action_access(self):
        """Before an action writes as superuser: the user is a Xero user and may read these records
        (their company is one of the user's)."""
        if self.env.su:
            return
        if not self.env.user.has_group("hr_payroll_xero.group_xero_user"):
            raise AccessError(self.env._("Only Xero users may push or cancel Xero bills."))
        self.check_access("read")

    @api.model
    def _xero_payload_signature(self, record_id, payload):
        """HMAC of ``payload`` stored on record ``record_id``, keyed with the database secret."""
        return odoo_hmac(self.env(su=True), PAYLOAD_SCOPE, f"{record_id}:{payload or ''}")

    def _xero_payload_intact(self):
        """Whether the stored payload is the one Odoo generated (its signature and hash match)."""
        self.ensure_one()
        if not self.payload or not self.payload_signature or not self.content_hash:
            return False
        return consteq(
            self.payload_signature, self._xero_payload_signature(self.id, self.payload)
        ) and consteq(self.content_hash, content_digest(self.payload))

    def _xero_tampered_message(self):
        return self.env._(
            "Bill %s: the stored bill was changed outside Odoo: generate again (Generate Xero Bills on its "
            "batch) before it is sent.",
            self.invoice_number,
        )

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
        self.ensure_one()
        payload = self._xero_dump(bill)
        return dict(
            self._xero_header_vals(bill),
            payload=payload,
            content_hash=content_digest(payload),
            payload_signature=self._xero_payload_signature(self.id, payload),
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
                line.description[:MAX_DESCRIPTION],  # shown here; the payload keeps what is sent
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
        and of its hash and signature: those four columns are then set with one UPDATE. The lines, plain values
        with no computed field depending on them, are streamed with one COPY (PostgreSQL's bulk load:
        for 130,000 lines it spares the client-side quoting of a multi-row INSERT, about 2 s).
        Returns the records.
        """
        # Records and their lines are written only by the record's actions, as superuser: the COPY of the
        # lines below bypasses the ORM's checks, so the caller's rights are checked here.
        if not self.env.su:
            raise AccessError(self.env._("Xero bill records are created only by Generate Xero Bills."))
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
        sign = self._xero_payload_signature
        for record_id, bill in zip(records.ids, bills, strict=True):
            payload = self._xero_dump(bill)
            rows.append((record_id, payload, content_digest(payload), sign(record_id, payload), bill.url))
        cr.execute_values(
            "UPDATE xero_bill_record r SET payload = v.payload, content_hash = v.content_hash, "
            "payload_signature = v.payload_signature, odoo_url = v.odoo_url "
            "FROM (VALUES %s) AS v(id, payload, content_hash, payload_signature, odoo_url) WHERE r.id = v.id",
            rows,
            page_size=len(rows),
        )
        records.invalidate_recordset(["payload", "content_hash", "payload_signature", "odoo_url"])
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
        if not self._xero_payload_intact():
            raise UserError(self._xero_tampered_message())
        bill = Bill.from_content(
            json.loads(self.payload),
            type_name=self.type_name or "",
            pay_items=[line.pay_item or "" for line in self.line_ids.sorted("sequence")],
        )
        if bill.content_hash() != self.content_hash:  # pragma: no cover - the signed payload is canonical
            raise UserError(self._xero_tampered_message())
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
            message = self.env._("%s bill(s) sent to Xero.", len(sent))
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
        results = creates._xero_create_in_xero(client, [record._xero_bill() for record in creates])
        for record in updates | creates.filtered("pending_update"):
            record._xero_update_in_xero(client)
        creates._xero_store_contacts(results)

    def _xero_create_in_xero(self, client, bills):
        """Create ``bills`` (the bills of ``self``, in order) in Xero in one call; returns Xero's results.

        When the call fails on something that is neither Xero's answer nor a known problem (the SDK raises
        ``ValueError`` for a value over Xero's limits, e.g. a ContactNumber over 50 characters), the bills
        are sent again in halves until the record at fault fails alone and the others go: each call looks
        its bills up first, so a bill created before the failure is found, never created twice.
        """
        if not self:
            return []
        try:
            results = client.create_bills(bills)
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
            return self[:half]._xero_create_in_xero(client, bills[:half]) + self[half:]._xero_create_in_xero(
                client, bills[half:]
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
                        "Xero refused the bill: %(errors)s. Fix the mapping type or the organisation's "
                        "settings in Xero, then generate the bills again.",
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

    def _xero_check_document(self, client, current):
        """Refuse (``UserError``) unless ``current``, the Xero document at this record's Xero id, is this
        record's bill: same number, same contact. A Xero id pointing at another document must never make
        Push overwrite it nor Cancel delete or void it."""
        self.ensure_one()
        if (current.number or "") != self.invoice_number:
            reason = self.env._("its number is %s", current.number or "-")
        else:
            contact_id = client.find_contact(self.contact_name or "", self.contact_number or None)
            if contact_id and current.contact_id == contact_id:
                return
            reason = self.env._("its contact is not %s", self.contact_name)
        _logger.warning(
            "Xero bill record %s (%s): Xero document %s is another document, left alone",
            self.id,
            self.invoice_number,
            self.xero_id,
        )
        raise UserError(
            self.env._(
                "Bill %(number)s: the Xero document %(xero_id)s is not this bill (%(reason)s), so it was "
                "neither updated nor cancelled. Check it in Xero: if its number or contact was changed there, "
                "set them back to %(number)s and %(contact)s, then try again.",
                number=self.invoice_number,
                xero_id=self.xero_id,
                reason=reason,
                contact=self.contact_name,
            )
        )

    def _xero_update_in_xero(self, client):
        """Replace the content of the DRAFT/SUBMITTED bill in Xero by this record's payload."""
        self.ensure_one()
        self.attempts += 1
        credit = self.doc_type == ACCPAYCREDIT
        try:
            bill = self._xero_bill()
            current = client.get_bill(self.xero_id, credit_note=credit)
            self._xero_check_document(client, current)
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
            result = client.update_draft_bill(self.xero_id, bill)
        except psycopg2.Error:
            raise
        except (XeroError, UserError) as exc:
            self._xero_fail_from(exc)
            return
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self._xero_fail_unexpected(exc)
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

        Each connection's chunk runs in a savepoint and is committed on its own, so that what Xero
        accepted is never forgotten because a later connection fails, and one connection (or one
        record) that fails unexpectedly does not stop the others; the cron re-triggers itself when
        work is left.
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
        records = self.sudo().search(domain, order="id", limit=CRON_CHUNK + 1)
        more = len(records) > CRON_CHUNK
        for connection, group in records[:CRON_CHUNK].grouped("connection_id").items():
            try:
                with self.env.cr.savepoint():
                    group._xero_push()
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # Rolled back to the savepoint: Xero may have created some of these bills, which the next
                # push finds by number before sending anything again.
                _logger.exception(
                    "Xero push cron: bills %s of connection %s stopped on an unexpected error",
                    group.ids,
                    connection.id,
                )
                group._xero_fail_after_crash(exc)
            if not modules.module.current_test:
                # Bills Xero accepted must stay recorded as sent even if a later chunk fails badly.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if more:
            self.env.ref("hr_payroll_xero.ir_cron_xero_push_queued")._trigger()
        return True

    def _xero_fail_after_crash(self, exc):
        """After the push of these records was rolled back: retry later, counting the attempt (so a record
        that always crashes stops after ``MAX_ATTEMPTS``)."""
        now = fields.Datetime.now()
        try:
            with self.env.cr.savepoint():
                for record in self.exists():
                    record._xero_fail(
                        self.env._(
                            "The push stopped on an unexpected error (%s); the cron tries again later.",
                            type(exc).__name__,
                        ),
                        retryable=True,
                        next_attempt=now + timedelta(minutes=10 * 2 ** max(0, record.attempts)),
                    )
        except Exception:  # pylint: disable=broad-exception-caught
            _logger.exception("Xero push cron: could not mark records %s failed", self.ids)

    # ------------------------------------------------------------------ cancel

    def action_cancel_in_xero(self):
        """Delete (draft/submitted) or void (approved, unpaid) the bills in Xero; paid ones are refused."""
        self._xero_check_action_access()
        return self.sudo()._xero_cancel_in_xero()

    def _xero_cancel_in_xero(self):
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
                credit = record.doc_type == ACCPAYCREDIT
                try:
                    if client is None:
                        client = connection._xero_client()
                    if not record.xero_id and not record._xero_find_in_xero(client):
                        # Pushed, but Xero never got it: nothing to cancel there.
                        record._xero_cancel_locally()
                        cancelled |= record
                        continue
                    record._xero_check_document(client, client.get_bill(record.xero_id, credit_note=credit))
                    doc = client.cancel_bill(record.xero_id, credit_note=credit)
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
        message = self.env._("%(n)s bill(s) cancelled.", n=len(cancelled))
        if refused:
            message += " " + " | ".join(f"{r.invoice_number}: {m}" for r, m in refused)
        return notification(self.env._("Xero"), message, warning=bool(refused))

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
        """Only bills that never reached Xero (or were cancelled there) may be deleted."""
        for record in self:
            if record.state == "cancelled":
                continue
            if record.xero_id:
                raise UserError(
                    self.env._(
                        "Bill %s is in Xero: cancel it in Xero before deleting it here.",
                        record.invoice_number,
                    )
                )
            if record.attempts:
                raise UserError(
                    self.env._(
                        "Bill %s was pushed and may have reached Xero: click Cancel in Xero first (it looks "
                        "the bill up in Xero and cancels it there or here), then delete it.",
                        record.invoice_number,
                    )
                )
