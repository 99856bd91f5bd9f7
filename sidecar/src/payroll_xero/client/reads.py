"""Reading from Xero: the organisation, its chart of accounts and tracking, this app's documents
(found again by number, read by id, or read back by modification date for their status)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..bills import Bill
from ..errors import NotFound, XeroError
from . import values as v
from .sdk import bill_from_model, chunks, enum_value, guid, where_string
from .transport import Transport, _NotModified
from .values import Account, Organisation, StatusPage, TrackingCategory, XeroBill


def _since(value: datetime, name: str) -> datetime:
    """An aware datetime as Xero's If-Modified-Since reads it: UTC without an offset."""
    if value.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(timezone.utc).replace(tzinfo=None)


class Reads(Transport):
    """The organisation and this app's documents, read through :meth:`Transport._call`."""

    # ----------------------------------------------------------------- the organisation

    def organisation(self) -> Organisation:
        """Name, base currency and enabled currencies (Organisation + Currencies: two calls)."""
        # Read as plain JSON: the SDK's Organisation model fails on a null PeriodLockDate.
        raw = self._call("organisation", self.accounting.get_organisations, _preload_content=False)
        try:
            orgs = json.loads(raw.data).get("Organisations") or []
        except (ValueError, AttributeError):
            raise XeroError("Xero's organisation answer could not be read; try again later.") from None
        if not orgs:
            raise NotFound("Xero returned no organisation for this tenant.")
        org = orgs[0]
        currencies = self._call("currencies", self.accounting.get_currencies).currencies or []
        base = org.get("BaseCurrency")
        codes = [enum_value(c.code) for c in currencies]
        if base and base not in codes:
            codes.insert(0, base)
        return Organisation(
            organisation_id=org.get("OrganisationID") or "",
            name=org.get("Name") or "",
            base_currency=base,
            currencies=tuple(codes),
            country_code=org.get("CountryCode"),
            short_code=org.get("ShortCode"),
        )

    def accounts(self, modified_since: datetime | None = None) -> list[Account]:
        """The chart of accounts; with ``modified_since`` (aware) only what changed since then."""
        kwargs: dict[str, Any] = {}
        if modified_since is not None:
            kwargs["if_modified_since"] = _since(modified_since, "modified_since")
        try:
            rows = self._call("accounts", self.accounting.get_accounts, **kwargs).accounts or []
        except _NotModified:
            return []
        return [
            Account(
                account_id=a.account_id,
                code=a.code,
                name=a.name,
                type=enum_value(a.type),
                status=enum_value(a.status),
                account_class=enum_value(a._class),
                tax_type=a.tax_type,
                system_account=enum_value(a.system_account) or None,
                updated=a.updated_date_utc,
            )
            for a in rows
        ]

    def tracking_categories(self) -> list[TrackingCategory]:
        rows = self._call("tracking categories", self.accounting.get_tracking_categories).tracking_categories
        return [
            TrackingCategory(
                tracking_category_id=t.tracking_category_id,
                name=t.name,
                status=enum_value(t.status),
                options=tuple(o.name for o in (t.options or ()) if enum_value(o.status) in (None, "ACTIVE")),
            )
            for t in rows or ()
        ]

    # ----------------------------------------------------------------- documents by number or id

    def find_bill(self, invoice_number: str, contact_id: str, credit_note: bool = False) -> XeroBill | None:
        """The live (not DELETED/VOIDED) bill or credit note this app made with that number and contact."""
        live, _gone = self._find_many([(invoice_number, contact_id)], credit_note)
        return live.get((invoice_number, contact_id))

    def find_bills(
        self, pairs: Sequence[tuple[str, str]], credit_note: bool = False
    ) -> tuple[dict[tuple[str, str], XeroBill], dict[tuple[str, str], list[str]]]:
        """(number, ContactID) -> the live document this app made, and -> ids of DELETED/VOIDED ones."""
        return self._find_many(pairs, credit_note)

    def _find_many(
        self, pairs: Sequence[tuple[str, str]], credit_note: bool
    ) -> tuple[dict[tuple[str, str], XeroBill], dict[tuple[str, str], list[str]]]:
        """(number, ContactID) -> the live document, and -> ids of DELETED/VOIDED ones;
        v.LOOKUP_BATCH numbers per call."""
        found: dict[tuple[str, str], XeroBill] = {}
        gone: dict[tuple[str, str], list[str]] = {}
        wanted = set(pairs)
        for chunk in chunks(sorted(wanted), v.LOOKUP_BATCH):
            for row in self._numbered(chunk, credit_note):
                bill = bill_from_model(row, credit_note)
                key = (bill.number, bill.contact_id)
                if key not in wanted:
                    continue
                if bill.status in v.GONE_STATUSES:
                    gone.setdefault(key, []).append(bill.xero_id)
                else:
                    found.setdefault(key, bill)
        return found, gone

    def _numbered(self, chunk: list[tuple[str, str]], credit_note: bool) -> Iterator[Any]:
        """The documents with these numbers (and, for bills, contacts), page by page."""
        numbers = sorted({n for n, _c in chunk})
        contacts = sorted({c for _n, c in chunk})
        page = 1
        while True:
            if credit_note:
                # Disjunctive normal form: Xero binds AND tighter than OR.
                where = " OR ".join(
                    f'Type=="ACCPAYCREDIT" AND CreditNoteNumber=={where_string(n)}' for n in numbers
                )
                answer = self._call(
                    "find credit notes", self.accounting.get_credit_notes, where=where, page=page
                )
                rows = answer.credit_notes or []
            else:
                answer = self._call(
                    "find bills",
                    self.accounting.get_invoices,
                    invoice_numbers=numbers,
                    contact_i_ds=contacts,
                    created_by_my_app=True,
                    page=page,
                )
                rows = answer.invoices or []
            yield from rows
            if len(rows) < 100:
                return
            page += 1

    def _lookup(self, bills: Sequence[Bill], contact_ids: dict[str, str]) -> dict[str, XeroBill]:
        """invoice_number -> what Xero already has, for bills of one kind."""
        if not bills:
            return {}
        pairs = [(b.invoice_number, contact_ids[b.invoice_number]) for b in bills]
        found, gone = self._find_many(pairs, bills[0].is_credit_note)
        for number, cid in pairs:
            if gone.get((number, cid)):
                # A re-creation after a delete must not be answered by Xero's replay of the first one.
                self._generation[number] = ",".join(sorted(gone[(number, cid)]))
        return {number: found[(number, cid)] for number, cid in pairs if (number, cid) in found}

    def get_bill(self, xero_id: str, credit_note: bool = False) -> XeroBill:
        if credit_note:
            rows = self._call("get credit note", self.accounting.get_credit_note, xero_id).credit_notes
        else:
            rows = self._call("get bill", self.accounting.get_invoice, xero_id).invoices
        if not rows:
            raise NotFound(f"Xero has no document {xero_id}.")
        return bill_from_model(rows[0], credit_note)

    def read_bills(self, ids: Sequence[str], credit_notes: bool = False) -> Iterator[list[XeroBill]]:
        """The documents with these ids, a batch per call (50 bill ids, 25 credit note ids); an id Xero
        does not return is not in any batch (deleted for good or never this organisation's)."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        for chunk in chunks(wanted, v.CREDIT_IDS_BATCH if credit_notes else v.IDS_BATCH):
            if credit_notes:
                where = " OR ".join(f'CreditNoteID==Guid("{guid(i)}")' for i in chunk)
                answer = self._call(
                    "read credit notes", self.accounting.get_credit_notes, where=where, page=1
                )
                rows = answer.credit_notes or []
            else:
                rows = (
                    self._call("read bills", self.accounting.get_invoices, i_ds=chunk, page=1).invoices or []
                )
            yield [bill_from_model(row, credit_notes) for row in rows]

    # ----------------------------------------------------------------- status read-back

    def changed_bills(self, since: datetime) -> Iterator[StatusPage]:
        """Every bill and credit note of the organisation modified since ``since`` (aware), page by page.

        Credit notes first (few, and their pages keep the watermark at ``since``), then bills
        (``createdByMyApp``, oldest change first, so each saved page moves the watermark on). Calls:
        one per page of 100, plus the short page that ends each kind. A rate limit or an outage
        raises between pages: what was yielded stays read, and ``changed_bills(last watermark)`` resumes.
        """
        _since(since, "since")
        ceiling = datetime.now(timezone.utc) - v.CLOCK_MARGIN
        for credit_note in (True, False):
            mark = since
            page = 1
            while True:
                bills = tuple(
                    bill_from_model(row, credit_note) for row in self._changed_page(since, credit_note, page)
                )
                last = len(bills) < v.STATUS_PAGE
                if not credit_note:
                    stamps = [b.updated_at - timedelta(seconds=1) for b in bills if b.updated_at]
                    mark = max([mark, *stamps])
                    mark = max(since, ceiling) if last else min(mark, ceiling)
                yield StatusPage(bills=bills, watermark=mark, credit_notes=credit_note)
                if last:
                    break
                page += 1

    def _changed_page(self, since: datetime, credit_note: bool, page: int) -> list[Any]:
        kwargs: dict[str, Any] = {
            "if_modified_since": _since(since, "since"),
            "order": "UpdatedDateUTC ASC",
            "page": page,
            "page_size": v.STATUS_PAGE,
        }
        try:
            if credit_note:
                answer = self._call(
                    "changed credit notes",
                    self.accounting.get_credit_notes,
                    where='Type=="ACCPAYCREDIT"',
                    **kwargs,
                )
                return answer.credit_notes or []
            answer = self._call(
                "changed bills",
                self.accounting.get_invoices,
                where='Type=="ACCPAY"',
                created_by_my_app=True,
                **kwargs,
            )
            return answer.invoices or []
        except _NotModified:
            return []
