# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""When and how a bill is sent: one record per Xero bill, credit note or manual journal of a payslip batch.

The bill itself (lines, amounts, credit note or not) comes from the sidecar's ``build_bills``;
this model keeps what was built (the exact payload and its hash), sends it through the
sidecar's client, and remembers what Xero answered.
"""

import json
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import consteq
from odoo.tools.misc import hmac as odoo_hmac

try:
    from payroll_xero.bills import ACCPAY, ACCPAYCREDIT, Bill, content_digest
    from payroll_xero.client import journal_web_url
    from payroll_xero.journal_values import JOURNAL_DOC_TYPE, Journal, UnbalancedJournal
except ImportError:  # pragma: no cover - checked by external_dependencies
    ACCPAY, ACCPAYCREDIT, JOURNAL_DOC_TYPE = "ACCPAY", "ACCPAYCREDIT", "MANUALJOURNAL"
    Bill = content_digest = journal_web_url = Journal = None
    UnbalancedJournal = ValueError

from .compat import sql_constraints
from .const import (  # the MAX_ names are also read from here by older imports
    MAX_CONTACT_NAME,
    MAX_CONTACT_NUMBER,
    MAX_DESCRIPTION,  # noqa: F401
    MAX_INVOICE_NUMBER,
    MAX_TRACKING_NAME,  # noqa: F401
    PAYLOAD_SCOPE,
    XERO_STATUSES,
    XERO_WEB,
)

_logger = logging.getLogger(__name__)


@sql_constraints(
    (
        "number_company_uniq",
        "unique(company_id, invoice_number)",
        "A bill number exists once per company: generate again instead of copying a record.",
    ),
)
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
        string="Number",
        required=True,
        readonly=True,
        index=True,
        size=MAX_INVOICE_NUMBER,
        help="Stable number of the bill or journal (BATCH/TYPE[/EMPLOYEE]): a bill's reference in Xero, the key "
        "a journal's narration ends with.",
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
        [(ACCPAY, "Bill"), (ACCPAYCREDIT, "Credit Note"), (JOURNAL_DOC_TYPE, "Manual Journal")],
        string="Document Type",
        required=True,
        readonly=True,
    )
    document = fields.Selection(
        [("bill", "Bill"), ("journal", "Manual Journal")],
        compute="_compute_document",
        store=True,
        index=True,
        help="Bill: a bill or supplier credit note to a contact. Manual journal: the batch's journal of a "
        "journal mapping type (its number is the key its narration ends with in Xero).",
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
    xero_status = fields.Selection(XERO_STATUSES, readonly=True, copy=False, tracking=True, index=True)
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
    payload_signed_at_upgrade = fields.Selection(
        [("resigned", "Signed (never sent)"), ("checked", "Checked (sent before signatures)")],
        string="Signed at Upgrade",
        readonly=True,
        copy=False,
        help="The record was generated before payloads were signed; the upgrade to 1.1.0 signed its payload "
        "as stored (its hash matched): a bill never sent is sent as it is, a bill already in Xero is updated "
        "only after Xero's document is checked against it (number and contact), as every update.",
    )
    generated_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    generated_at = fields.Datetime(readonly=True, copy=False)
    sent_at = fields.Datetime(readonly=True, copy=False)
    line_ids = fields.One2many("xero.bill.record.line", "record_id", string="Lines", readonly=True)

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
            "%(kind)s %(number)s: the stored document was changed outside Odoo: generate again (Generate Xero "
            "Bills on its batch) before it is sent.",
            kind=self._xero_kind_label(),
            number=self.invoice_number,
        )

    def _xero_kind_label(self):
        """ "Bill", "Credit Note" or "Manual Journal": what this record is, as its users read it."""
        self.ensure_one()
        return dict(self._fields["doc_type"]._description_selection(self.env)).get(
            self.doc_type
        ) or self.env._("Bill")

    # ------------------------------------------------------------------ computes

    @api.depends("currency_code")
    def _compute_currency_id(self):
        """The currency of the bill (its amounts, and its lines' through them), never the company's: a bill in
        HKD of a company in USD shows HKD's symbol and decimals. A code Odoo does not know gives none (the
        amounts show bare, beside the code) rather than another currency's symbol."""
        by_code = self._xero_currencies(self.mapped("currency_code"))
        for record in self:
            record.currency_id = by_code.get(record.currency_code, False)

    @api.model
    def _xero_currencies(self, codes):
        """{ISO code: res.currency} of ``codes``, archived currencies included."""
        codes = sorted(set(codes) - {False, None, ""})
        if not codes:
            return {}
        currencies = self.env["res.currency"].with_context(active_test=False).search([("name", "in", codes)])
        return {currency.name: currency for currency in currencies}

    @api.depends("payload")
    def _compute_payload_display(self):
        """The stored payload is compact (it is hashed as is); people read it indented."""
        for record in self:
            try:
                record.payload_display = json.dumps(json.loads(record.payload), indent=2, sort_keys=True)
            except (TypeError, ValueError):
                record.payload_display = record.payload

    @api.depends("doc_type")
    def _compute_document(self):
        for record in self:
            record.document = "journal" if record.doc_type == JOURNAL_DOC_TYPE else "bill"

    @api.depends("xero_id", "doc_type", "connection_id")
    def _compute_xero_url(self):
        default_api = XERO_WEB
        for record in self:
            if not record.xero_id:
                record.xero_url = False
                continue
            endpoints = record.connection_id._xero_endpoints() if record.connection_id else None
            api_url = endpoints.api_url if endpoints else ""
            if record.doc_type == JOURNAL_DOC_TYPE:
                record.xero_url = journal_web_url(record.xero_id, endpoints)
            elif api_url and "api.xero.com" not in api_url:
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

    def _xero_bill(self):
        """The sidecar Bill (or Journal, for a journal record) stored on this record, exactly as it was built."""
        self.ensure_one()
        if not self._xero_payload_intact():
            raise UserError(self._xero_tampered_message())
        kind = Journal if self.document == "journal" else Bill
        try:
            bill = kind.from_content(
                json.loads(self.payload),
                type_name=self.type_name or "",
                pay_items=[line.pay_item or "" for line in self.line_ids.sorted("sequence")],
            )
        except UnbalancedJournal:  # pragma: no cover - a signed payload was built balanced
            raise UserError(self._xero_tampered_message()) from None
        if bill.content_hash() != self.content_hash:  # pragma: no cover - the signed payload is canonical
            raise UserError(self._xero_tampered_message())
        return bill

    # ------------------------------------------------------------------ misc

    def action_open_in_xero(self):
        self.ensure_one()
        if not self.xero_url:
            raise UserError(self.env._("Bill %s is not in Xero yet.", self.invoice_number))
        return {"type": "ir.actions.act_url", "url": self.xero_url, "target": "new"}
