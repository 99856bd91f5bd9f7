# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bulk writer: the records and lines of built bills, created with one INSERT and one COPY."""

import dataclasses
import io
import json

from odoo import api, fields, models
from odoo.exceptions import AccessError

try:
    from payroll_xero.bills import Bill, content_digest
except ImportError:  # pragma: no cover - checked by external_dependencies
    Bill = content_digest = None

from .const import MAX_DESCRIPTION

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


class XeroBillRecordWriter(models.Model):
    _inherit = "xero.bill.record"  # pylint: disable=consider-merging-classes-inherited

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
            payload_signed_at_upgrade=False,
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
        records._xero_store_payloads(bills)
        records._xero_copy_lines(vals_list, bills, rules_by_key, accounts_by_code)
        return records

    def _xero_store_payloads(self, bills):
        """Set each record's payload, hash, signature and link back to Odoo with one UPDATE."""
        rows = []
        sign = self._xero_payload_signature
        for record_id, bill in zip(self.ids, bills, strict=True):
            payload = self._xero_dump(bill)
            rows.append((record_id, payload, content_digest(payload), sign(record_id, payload), bill.url))
        self.env.cr.execute_values(
            "UPDATE xero_bill_record r SET payload = v.payload, content_hash = v.content_hash, "
            "payload_signature = v.payload_signature, odoo_url = v.odoo_url "
            "FROM (VALUES %s) AS v(id, payload, content_hash, payload_signature, odoo_url) WHERE r.id = v.id",
            rows,
            page_size=len(rows),
        )
        self.invalidate_recordset(["payload", "content_hash", "payload_signature", "odoo_url"])

    @api.model
    def _xero_sign_legacy_payloads(self):
        """Sign the payloads of records made before payloads were signed (the upgrade to 1.1.0 runs it).

        A record whose payload still has its hash (the payload is the bill it was generated as) gets its
        signature: marked ``resigned`` when it never reached Xero, ``checked`` when it did. A payload whose
        hash does not match stays unsigned: it was changed, and the push keeps refusing it (generate again).
        Returns ``{"resigned": [ids], "checked": [ids], "left": [ids]}``.
        """
        cr = self.env.cr
        cr.execute(
            "SELECT id, payload, content_hash, xero_id IS NOT NULL AND xero_id != '' FROM xero_bill_record "
            "WHERE payload IS NOT NULL AND (payload_signature IS NULL OR payload_signature = '') ORDER BY id"
        )
        found = {"resigned": [], "checked": [], "left": []}
        rows = []
        for record_id, payload, content_hash, in_xero in cr.fetchall():
            canonical = self._xero_canonical_payload(payload, content_hash)
            if canonical is None:
                found["left"].append(record_id)
                continue
            kind = "checked" if in_xero else "resigned"
            found[kind].append(record_id)
            rows.append((record_id, canonical, self._xero_payload_signature(record_id, canonical), kind))
        if rows:
            cr.execute_values(
                "UPDATE xero_bill_record r SET payload = v.payload, payload_signature = v.signature, "
                "payload_signed_at_upgrade = v.kind FROM (VALUES %s) AS v(id, payload, signature, kind) "
                "WHERE r.id = v.id",
                rows,
                page_size=1000,
            )
            self.browse([row[0] for row in rows]).invalidate_recordset(
                ["payload", "payload_signature", "payload_signed_at_upgrade"]
            )
        return found

    @api.model
    def _xero_canonical_payload(self, payload, content_hash):
        """``payload`` as Odoo stores it (canonical JSON) when it is the bill ``content_hash`` digests, else None."""
        if not content_hash:
            return None
        if content_digest(payload) == content_hash:
            return payload
        try:  # the same bill written another way (spaces, key order): stored canonical from now on
            canonical = Bill.from_content(json.loads(payload)).content_json()
        except (TypeError, ValueError, KeyError):
            return None
        return canonical if content_digest(canonical) == content_hash else None

    def _xero_copy_lines(self, vals_list, bills, rules_by_key, accounts_by_code):
        """Stream the records' lines into xero_bill_record_line with one COPY."""
        cr = self.env.cr
        # The ORM's create_date of the records (the transaction's time), and its create_uid.
        meta = TAB.join(_copy_text(value) for value in (self.env.uid, self.env.uid, cr.now(), cr.now()))
        text = _CopyTexts()
        out = io.StringIO()
        for record_id, vals, bill in zip(self.ids, vals_list, bills, strict=True):
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
            self.invalidate_recordset(["line_ids"])
