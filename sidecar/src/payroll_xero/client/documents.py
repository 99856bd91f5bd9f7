"""Writing bills: create (looking up before anything is resent), update a draft, delete, void, cancel."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from xero_python.accounting.models import CurrencyCode

from ..bills import Bill
from ..errors import OutcomeUnknown, ValidationFailed, XeroError, XeroUnavailable
from .compare import bill_differences, readable_errors
from .contacts import Contacts
from .sdk import (
    bill_from_model,
    chunks,
    document,
    documents_body,
    documents_of,
    idempotency_key,
    messages,
    status_change,
)
from .transport import _Unknown
from .values import BATCH_SIZE, GONE_STATUSES, PushResult, XeroBill

_logger = logging.getLogger("payroll_xero.client")


def found_result(bill: Bill, found: XeroBill, *, created: bool, contact_id: str | None = None) -> PushResult:
    return PushResult(
        invoice_number=bill.invoice_number,
        ok=True,
        xero_id=found.xero_id,
        xero_number=found.number,
        status=found.status,
        total=found.total,
        created=created,
        already_existed=not created,
        is_credit_note=bill.is_credit_note,
        contact_id=found.contact_id,
        differences=bill_differences(bill, found, contact_id),
    )


def _found_results(
    bills: Sequence[Bill], found: dict[str, XeroBill], contact_ids: dict[str, str], *, created: bool
) -> dict[str, PushResult]:
    """invoice_number -> the result of each bill Xero has (``found``), compared with what we would send."""
    return {
        b.invoice_number: found_result(
            b, found[b.invoice_number], created=created, contact_id=contact_ids[b.invoice_number]
        )
        for b in bills
        if b.invoice_number in found
    }


def error_result(bill: Bill, errors: Iterable[str]) -> PushResult:
    return PushResult(
        invoice_number=bill.invoice_number, ok=False, errors=tuple(errors), is_credit_note=bill.is_credit_note
    )


def _local_problem(bill: Bill) -> str | None:
    try:
        CurrencyCode(bill.currency)
    except ValueError:
        return f"{bill.invoice_number}: Xero does not know the currency {bill.currency}."
    if not bill.lines:
        return f"{bill.invoice_number}: the bill has no lines."
    return None


class Documents(Contacts):
    """Bills (Invoices, ACCPAY) and supplier credit notes (CreditNotes, ACCPAYCREDIT) this app sends."""

    # ----------------------------------------------------------------- create

    def create_bills(self, bills: Sequence[Bill], *, check_existing: bool = True) -> list[PushResult]:
        """Create bills and supplier credit notes; one result per bill, in the order given.

        With ``check_existing`` (the default) bills this app already created in Xero are reported
        ``already_existed`` and not sent again. Calls carry at most 50 documents,
        ``summarizeErrors=false`` and an Idempotency-Key; when an answer is lost the bills are
        looked up before anything is resent.

        Raises :class:`RateLimited`, :class:`ReconnectNeeded`, :class:`XeroUnavailable` or
        :class:`OutcomeUnknown` (with ``partial_results``) when it has to stop.
        """
        results: dict[str, PushResult] = {}
        todo = self._sendable(bills, results)
        try:
            contact_ids = self._contacts_for(todo, results)
            todo = [b for b in todo if b.invoice_number in contact_ids]
            for credit in (False, True):
                group = [b for b in todo if b.is_credit_note == credit]
                if group:
                    self._create_group(group, contact_ids, results, check_existing)
        except XeroError as exc:
            exc.partial_results = tuple(results.values())
            raise
        ordered = [results[b.invoice_number] for b in bills if b.invoice_number in results]
        ordered += [r for k, r in results.items() if "#dup" in k]
        return ordered

    @staticmethod
    def _sendable(bills: Sequence[Bill], results: dict[str, PushResult]) -> list[Bill]:
        """The bills worth sending; a repeated number or a bill Xero cannot take gets its error result."""
        seen: set[str] = set()
        todo: list[Bill] = []
        for bill in bills:
            if bill.invoice_number in seen:
                results.setdefault(
                    f"{bill.invoice_number}#dup{len(results)}",
                    error_result(
                        bill, [f"{bill.invoice_number}: the same bill number appears twice in one push."]
                    ),
                )
                continue
            seen.add(bill.invoice_number)
            problem = _local_problem(bill)
            if problem:
                results[bill.invoice_number] = error_result(bill, [problem])
            else:
                todo.append(bill)
        return todo

    def _create_group(
        self,
        group: list[Bill],
        contact_ids: dict[str, str],
        results: dict[str, PushResult],
        check_existing: bool,
    ) -> None:
        """Bills of one kind: report the ones Xero already has, create the others in batches."""
        existing = self._lookup(group, contact_ids) if check_existing else {}
        results.update(_found_results(group, existing, contact_ids, created=False))
        pending = [b for b in group if b.invoice_number not in existing]
        for chunk in chunks(pending, BATCH_SIZE):
            results.update(self._create_chunk(chunk, contact_ids))

    def _contacts_for(self, bills: Sequence[Bill], results: dict[str, PushResult]) -> dict[str, str]:
        """invoice_number -> ContactID; bills whose contact cannot be made get an error result."""
        ids, errors = self.ensure_contacts([(b.contact_name, b.contact_number) for b in bills])
        out: dict[str, str] = {}
        for bill in bills:
            key = self._contact_key(bill.contact_name, bill.contact_number)
            if key in ids:
                out[bill.invoice_number] = ids[key]
            else:
                problems = errors.get(key) or ("Xero did not create the contact.",)
                results[bill.invoice_number] = error_result(
                    bill, [f"{bill.invoice_number}: {e}" for e in problems]
                )
        return out

    def _create_chunk(self, chunk: list[Bill], contact_ids: dict[str, str]) -> dict[str, PushResult]:
        results: dict[str, PushResult] = {}
        remaining = list(chunk)
        credit = chunk[0].is_credit_note
        attempt = 0
        while remaining:
            attempt += 1
            try:
                answer = self._write_documents(
                    "create credit notes" if credit else "create bills",
                    credit,
                    [document(b, contact_ids[b.invoice_number]) for b in remaining],
                    resend_safe=False,
                    summarize_errors=False,
                    idempotency_key=self._creation_key(remaining, contact_ids, credit),
                )
            except ValidationFailed as exc:
                elements = getattr(exc, "elements", [])
                for idx, bill in enumerate(remaining):
                    msgs = elements[idx] if len(elements) == len(remaining) else list(exc.errors)
                    results[bill.invoice_number] = error_result(
                        bill, readable_errors(bill, msgs or exc.errors)
                    )
                return results
            except _Unknown as exc:
                remaining = self._recover(exc, remaining, contact_ids, results, attempt)
                continue
            results.update(self._parse_created(remaining, answer or [], credit))
            break
        return results

    def _creation_key(self, bills: list[Bill], contact_ids: dict[str, str], credit: bool) -> str:
        return idempotency_key(
            "credit-notes" if credit else "bills",
            self.tenant_id,
            [
                f"{b.invoice_number}:{b.content_hash()}:{contact_ids[b.invoice_number]}:"
                f"{self._generation.get(b.invoice_number, '')}"
                for b in bills
            ],
        )

    def _recover(
        self,
        exc: _Unknown,
        remaining: list[Bill],
        contact_ids: dict[str, str],
        results: dict[str, PushResult],
        attempt: int,
    ) -> list[Bill]:
        """A creation's answer was lost: look the bills up; the ones Xero has are done, the rest is resent."""
        numbers = [b.invoice_number for b in remaining]
        _logger.warning(
            "Xero tenant %s: no answer to the creation of %d documents (%s): looking them up",
            self.tenant_id,
            len(remaining),
            exc.reason,
        )
        partial = tuple(results.values())
        if attempt < self.max_attempts:
            self._backoff(attempt)
        try:
            found = self._lookup(remaining, contact_ids)
        except XeroError as lookup_error:
            raise OutcomeUnknown(
                f"Xero did not confirm the creation of {len(numbers)} document(s) and could not be "
                "asked whether they exist; the next push looks them up first.",
                numbers,
                correlation_id=exc.correlation_id or lookup_error.correlation_id,
                partial_results=partial,
            ) from None
        results.update(_found_results(remaining, found, contact_ids, created=True))
        remaining = [b for b in remaining if b.invoice_number not in found]
        if remaining and attempt >= self.max_attempts:
            raise XeroUnavailable(
                f"Xero is unavailable ({exc.reason} after {attempt} attempts); "
                f"{len(remaining)} document(s) were not created, try again later.",
                correlation_id=exc.correlation_id,
                partial_results=tuple(results.values()),
            ) from None
        return remaining

    def _parse_created(self, bills: list[Bill], answer: list[Any], credit: bool) -> dict[str, PushResult]:
        by_number: dict[str, Any] = {}
        for doc in answer:
            by_number.setdefault(doc.credit_note_number if credit else doc.invoice_number, doc)
        results = {}
        for idx, bill in enumerate(bills):
            doc = by_number.get(bill.invoice_number)
            if doc is None and len(answer) == len(bills):
                doc = answer[idx]
            results[bill.invoice_number] = self._created_result(bill, doc, credit)
        return results

    @staticmethod
    def _created_result(bill: Bill, doc: Any, credit: bool) -> PushResult:
        if doc is None:
            return error_result(bill, [f"{bill.invoice_number}: Xero's answer does not mention this bill."])
        errors = messages(doc.validation_errors)
        if errors or doc.status_attribute_string == "ERROR" or doc.has_errors:
            return error_result(
                bill, readable_errors(bill, errors or ["Xero refused the bill without a message."])
            )
        made = bill_from_model(doc, credit)
        return PushResult(
            invoice_number=bill.invoice_number,
            ok=True,
            xero_id=made.xero_id,
            xero_number=made.number,
            status=made.status,
            total=made.total,
            warnings=tuple(messages(getattr(doc, "warnings", None))),
            created=True,
            is_credit_note=credit,
            contact_id=made.contact_id,
        )

    # ----------------------------------------------------------------- change

    def _write_documents(
        self, what: str, credit_note: bool, docs: list, *, xero_id: str | None = None, **kwargs: Any
    ) -> list[Any]:
        """Create (or, with ``xero_id``, update) bills or supplier credit notes; Xero's documents back."""
        if credit_note:
            method = self.accounting.update_credit_note if xero_id else self.accounting.create_credit_notes
        else:
            method = self.accounting.update_invoice if xero_id else self.accounting.create_invoices
        body = documents_body(credit_note, docs)
        args = (xero_id, body) if xero_id else (body,)
        return documents_of(self._call(what, method, *args, write=True, **kwargs), credit_note)

    def update_draft_bill(self, xero_id: str, bill: Bill) -> PushResult:
        """Replace a DRAFT/SUBMITTED bill's content (same number, same contact rules)."""
        contact_id = self.ensure_contact(bill.contact_name, bill.contact_number)
        key = idempotency_key("update", self.tenant_id, [xero_id, bill.content_hash()])
        try:
            rows = self._write_documents(
                "update credit note" if bill.is_credit_note else "update bill",
                bill.is_credit_note,
                [document(bill, contact_id, xero_id)],
                xero_id=xero_id,
                idempotency_key=key,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                readable_errors(bill, exc.errors),
                subject=f"bill {bill.invoice_number}",
                correlation_id=exc.correlation_id,
            ) from None
        result = self._parse_created([bill], rows or [], bill.is_credit_note)[bill.invoice_number]
        if not result.ok:
            raise ValidationFailed(result.errors, subject=f"bill {bill.invoice_number}")
        return PushResult(**{**_asdict(result), "created": False})

    def _set_status(self, xero_id: str, status: str, credit_note: bool) -> XeroBill:
        key = idempotency_key("status", self.tenant_id, [xero_id, status])
        try:
            rows = self._write_documents(
                f"{status.lower()} {'credit note' if credit_note else 'bill'}",
                credit_note,
                [status_change(xero_id, status, credit_note)],
                xero_id=xero_id,
                idempotency_key=key,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.errors, subject=f"document {xero_id}", correlation_id=exc.correlation_id
            ) from None
        errors = messages(rows[0].validation_errors)
        if errors:
            raise ValidationFailed(errors, subject=f"document {xero_id}")
        return bill_from_model(rows[0], credit_note)

    def delete_bill(self, xero_id: str, credit_note: bool = False) -> XeroBill:
        """DRAFT or SUBMITTED -> DELETED."""
        return self._set_status(xero_id, "DELETED", credit_note)

    def void_bill(self, xero_id: str, credit_note: bool = False) -> XeroBill:
        """AUTHORISED without payments -> VOIDED; a paid bill raises :class:`ValidationFailed`."""
        current = self.get_bill(xero_id, credit_note)
        if current.amount_paid or current.status == "PAID":
            raise ValidationFailed(
                [
                    f"{current.number or xero_id} has payments of {current.amount_paid}: remove the payments "
                    "in Xero or enter a credit note; a paid bill cannot be voided."
                ],
                subject=f"bill {current.number or xero_id}",
            )
        return self._set_status(xero_id, "VOIDED", credit_note)

    def cancel_bill(self, xero_id: str, credit_note: bool = False) -> XeroBill:
        """Delete (DRAFT/SUBMITTED) or void (AUTHORISED, unpaid); already gone: returned as is."""
        current = self.get_bill(xero_id, credit_note)
        if current.status in GONE_STATUSES:
            return current
        if current.status in ("DRAFT", "SUBMITTED"):
            return self._set_status(xero_id, "DELETED", credit_note)
        if current.status == "AUTHORISED" and not current.amount_paid:
            return self._set_status(xero_id, "VOIDED", credit_note)
        raise ValidationFailed(
            [
                f"{current.number or xero_id} is {current.status} with payments of {current.amount_paid}: "
                "remove the payments in Xero or enter a credit note; it cannot be cancelled."
            ],
            subject=f"bill {current.number or xero_id}",
        )


def _asdict(result: PushResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in PushResult.__dataclass_fields__}
