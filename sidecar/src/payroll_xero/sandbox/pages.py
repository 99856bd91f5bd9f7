"""The sandbox's HTML pages: the consent screen and the list of what arrived (bills, credit notes, manual
journals). Every value is escaped."""

from __future__ import annotations

from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import quote

from . import seed


@cache
def _template(name: str) -> Template:
    return Template(resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8"))


def message_page(title: str, message: str) -> str:
    """A small page that explains an error."""
    return _template("message.html").substitute(title=escape(title), message=escape(message))


def authorize_page(
    params: dict[str, str], app_name: str, organisations: list[dict[str, Any]], error: str = ""
) -> str:
    """The consent screen: one checkbox per organisation, Allow and Cancel."""
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(key)}" value="{escape(params[key])}">'
        for key in (
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        )
        if params.get(key)
    )
    boxes = "\n".join(
        f'<label class="org"><input type="checkbox" name="tenant" value="{escape(org["OrganisationID"])}"> '
        f"{escape(org['Name'])} <small>({escape(org['BaseCurrency'])})</small></label>"
        for org in organisations
    )
    return _template("authorize.html").substitute(
        app_name=escape(app_name),
        scope=escape(params.get("scope", "")),
        hidden=hidden,
        organisations=boxes,
        error=f'<p class="error">{escape(error)}</p>' if error else "",
    )


def _amount(value: Any) -> str:
    return escape(f"{value:,.2f}" if value is not None else "")


def _lines_table(lines: list[dict[str, Any]]) -> str:
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(line.get('Description', '')))}</td>"
        f"<td>{escape(str(line.get('AccountCode', '')))}</td>"
        f"<td>{escape(', '.join(t['Option'] for t in line.get('Tracking', [])))}</td>"
        f'<td class="num">{escape(str(line.get("Quantity", "")))}</td>'
        f'<td class="num">{_amount(line.get("UnitAmount"))}</td>'
        f'<td class="num">{_amount(line.get("LineAmount"))}</td>'
        "</tr>"
        for line in lines
    )
    return (
        (
            '<table class="lines"><tr><th>Description</th><th>Account</th><th>Tracking</th><th>Qty</th>'
            f"<th>Unit</th><th>Amount</th></tr>{rows}</table>"
        )
        if lines
        else ""
    )


def _actions(tenant_id: str, doc: dict[str, Any], credit_note: bool) -> str:
    """Buttons doing what a person does in Xero; the page's script posts them as JSON to the admin API."""
    doc_id = doc.get("CreditNoteID" if credit_note else "InvoiceID") or ""
    wanted = {
        "DRAFT": ("approve", "delete"),
        "SUBMITTED": ("approve", "delete"),
        "AUTHORISED": ("pay", "void"),
    }
    return "".join(
        f'<button data-action="{a}" data-tenant="{escape(tenant_id)}" data-id="{escape(str(doc_id))}" '
        f'data-endpoint="{a}_invoice" data-credit="{int(credit_note)}" '
        f'data-due="{escape(str(doc.get("AmountDue", "")))}">{a}</button> '
        for a in wanted.get(str(doc.get("Status")), ())
        if not (credit_note and a == "pay")
    )


def _journal_actions(tenant_id: str, journal: dict[str, Any]) -> str:
    """Post, void or delete a journal as a person in Xero would (the page's script posts them)."""
    wanted = {"DRAFT": ("post", "delete"), "POSTED": ("void",)}
    return "".join(
        f'<button data-action="{a}" data-tenant="{escape(tenant_id)}" '
        f'data-id="{escape(str(journal.get("ManualJournalID") or ""))}" data-endpoint="{a}_journal">{a}</button> '
        for a in wanted.get(str(journal.get("Status")), ())
    )


def _journal_lines_table(lines: list[dict[str, Any]]) -> str:
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(line.get('Description', '')))}</td>"
        f"<td>{escape(str(line.get('AccountCode', '')))}</td>"
        f"<td>{escape(', '.join(t['Option'] for t in line.get('Tracking', [])))}</td>"
        f'<td class="num">{_amount(line["LineAmount"]) if line.get("LineAmount", 0) > 0 else ""}</td>'
        f'<td class="num">{_amount(-line["LineAmount"]) if line.get("LineAmount", 0) < 0 else ""}</td>'
        "</tr>"
        for line in lines
    )
    head = "<tr><th>Description</th><th>Account</th><th>Tracking</th><th>Debit</th><th>Credit</th></tr>"
    return f'<table class="lines">{head}{rows}</table>' if lines else ""


def _journals_table(journals: list[dict[str, Any]], tenant_id: str) -> str:
    if not journals:
        return "<p><small>None yet.</small></p>"
    rows = "".join(
        f'<tr id="{escape(str(j.get("ManualJournalID") or ""))}">'
        f"<td>{escape(str(j.get('Narration') or ''))}</td>"
        f'<td class="status">{escape(str(j.get("Status", "")))}</td>'
        f"<td>{escape(str(j.get('Date') or ''))}</td>"
        f'<td class="num">{_amount(sum(x["LineAmount"] for x in j.get("JournalLines", []) if x["LineAmount"] > 0))}</td>'
        f"<td>{_link(j.get('Url'))}</td>"
        f"<td>{_journal_lines_table(j.get('JournalLines', []))}</td>"
        f"<td>{_journal_actions(tenant_id, j)}</td>"
        "</tr>"
        for j in journals
    )
    return (
        "<table><tr><th>Narration</th><th>Status</th><th>Date</th><th>Debits</th><th>Source</th>"
        f"<th>Lines</th><th>In Xero</th></tr>{rows}</table>"
    )


def _documents_table(
    docs: list[dict[str, Any]], number_field: str, amount_field: str, tenant_id: str = ""
) -> str:
    if not docs:
        return "<p><small>None yet.</small></p>"
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(doc.get(number_field) or ''))}</td>"
        f"<td>{escape(str((doc.get('Contact') or {}).get('Name', '')))}</td>"
        f'<td class="status">{escape(str(doc.get("Status", "")))}</td>'
        f"<td>{escape(str(doc.get('Date') or ''))}</td>"
        f"<td>{escape(str(doc.get('DueDate') or ''))}</td>"
        f"<td>{escape(str(doc.get('CurrencyCode', '')))}</td>"
        f'<td class="num">{_amount(doc.get("Total"))}</td>'
        f'<td class="num">{_amount(doc.get(amount_field))}</td>'
        f"<td>{_link(doc.get('Url'))}</td>"
        f"<td>{_lines_table(doc.get('LineItems', []))}</td>"
        f"<td>{_files(tenant_id, doc.get('Attachments', []))}</td>"
        f"<td>{_actions(tenant_id, doc, number_field == 'CreditNoteNumber')}</td>"
        "</tr>"
        for doc in docs
    )
    return (
        f"<table><tr><th>Number</th><th>Contact</th><th>Status</th><th>Date</th><th>Due date</th>"
        f"<th>Currency</th><th>Total</th><th>{escape(amount_field)}</th><th>Source</th><th>Lines</th><th>Files</th><th>In Xero</th></tr>"
        f"{rows}</table>"
    )


def _files(tenant_id: str, files: list[dict[str, Any]]) -> str:
    """Links to the files attached to a document."""
    return "<br>".join(
        f'<a class="file" href="/_sandbox/attachments/{quote(tenant_id)}/{quote(str(f["AttachmentID"]))}">'
        f"{escape(str(f['FileName']))}</a> <small>{int(f.get('ContentLength') or 0):,} bytes</small>"
        for f in files
    )


def _link(url: Any) -> str:
    if not url or not str(url).startswith(("http://", "https://")):
        return ""
    return f'<a href="{escape(str(url))}">link</a>'


def index_page(organisations: list[tuple[dict[str, Any], list, list, list]]) -> str:
    """Per organisation, its bills to pay, credit notes and manual journals (``organisations``: org, bills,
    credit notes, journals)."""
    sections = []
    for org, bills, credit_notes, journals in organisations:
        tenant = org["OrganisationID"]
        sections.append(
            f"<h2>{escape(org['Name'])} <small>{escape(tenant)} "
            f"({escape(org['BaseCurrency'])})</small></h2>"
            f"<h3>Bills to pay</h3>{_documents_table(bills, 'InvoiceNumber', 'AmountDue', tenant)}"
            f"<h3>Credit notes</h3>{_documents_table(credit_notes, 'CreditNoteNumber', 'RemainingCredit', tenant)}"
            f"<h3>Manual journals</h3>{_journals_table(journals, tenant)}"
        )
    return _template("index.html").substitute(
        client_id=escape(seed.DEMO_CLIENT_ID), organisations="\n".join(sections)
    )
