"""An organisation's data in the store: its invoices and credit notes (two kinds of documents), and its
manual journals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ..store import Store
from .values import parse_date

JOURNAL_KIND = "manualjournal"  # the store's kind of manual journals


class Ledger:
    """One organisation's data in the store."""

    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store = store
        self.tenant_id = tenant_id

    @property
    def organisation(self) -> dict[str, Any]:
        org = self.store.get("organisation", self.tenant_id, self.tenant_id)
        if org is None:
            raise KeyError(f"unknown tenant {self.tenant_id}")
        return org

    def lock_date(self) -> date | None:
        org = self.organisation
        dates = [parse_date(d) for d in (org.get("PeriodLockDate"), org.get("EndOfYearLockDate")) if d]
        return max(dates) if dates else None

    def currencies(self) -> list[dict[str, Any]]:
        return self.store.all("currency", self.tenant_id)

    def accounts(self) -> list[dict[str, Any]]:
        return self.store.all("account", self.tenant_id)

    def account(self, code: str | None = None, account_id: str | None = None) -> dict[str, Any] | None:
        for acc in self.accounts():
            if (code is not None and acc["Code"] == code) or (account_id and acc["AccountID"] == account_id):
                return acc
        return None

    def tracking_categories(self) -> list[dict[str, Any]]:
        return self.store.all("tracking", self.tenant_id)

    def contacts(self) -> list[dict[str, Any]]:
        return self.store.all("contact", self.tenant_id)

    def contact(self, contact_id: str) -> dict[str, Any] | None:
        return self.store.get("contact", self.tenant_id, str(contact_id).lower())

    def contact_by(self, key: str, value: str) -> dict[str, Any] | None:
        for contact in self.contacts():
            if (
                contact.get("ContactStatus") != "ARCHIVED"
                and contact.get(key)
                and (contact[key].lower() == value.lower() if key == "Name" else contact[key] == value)
            ):
                return contact
        return None

    def save_contact(self, contact: dict[str, Any]) -> None:
        self.store.put("contact", self.tenant_id, contact["ContactID"], contact)

    def documents(self, kind: DocKind) -> list[dict[str, Any]]:
        return self.store.all(kind.store_kind, self.tenant_id)

    def document(self, kind: DocKind, doc_id: str) -> dict[str, Any] | None:
        return self.store.get(kind.store_kind, self.tenant_id, str(doc_id).lower())

    def save_document(self, kind: DocKind, doc: dict[str, Any]) -> None:
        self.store.put(kind.store_kind, self.tenant_id, doc[kind.id_field], doc)

    def journals(self) -> list[dict[str, Any]]:
        """The organisation's manual journals, oldest first."""
        return self.store.all(JOURNAL_KIND, self.tenant_id)

    def journal(self, journal_id: str) -> dict[str, Any] | None:
        return self.store.get(JOURNAL_KIND, self.tenant_id, str(journal_id).lower())

    def save_journal(self, journal: dict[str, Any]) -> None:
        self.store.put(JOURNAL_KIND, self.tenant_id, journal["ManualJournalID"], journal)


@dataclass(frozen=True)
class DocKind:
    """Invoices and credit notes share their rules; this names what differs."""

    label: str
    collection: str
    store_kind: str
    id_field: str
    number_field: str
    types: tuple[str, ...]
    due_field: str
    number_prefix: str


INVOICE = DocKind(
    "Invoice", "Invoices", "invoice", "InvoiceID", "InvoiceNumber", ("ACCPAY", "ACCREC"), "AmountDue", "INV-"
)
CREDIT_NOTE = DocKind(
    "Credit Note",
    "CreditNotes",
    "creditnote",
    "CreditNoteID",
    "CreditNoteNumber",
    ("ACCPAYCREDIT", "ACCRECCREDIT"),
    "RemainingCredit",
    "CN-",
)
# Manual journals as the Attachments API sees them (their store, id and the narration in the place of a number).
MANUAL_JOURNAL = DocKind(
    "Manual Journal", "ManualJournals", JOURNAL_KIND, "ManualJournalID", "Narration", (), "", ""
)
APPROVED = ("SUBMITTED", "AUTHORISED")
