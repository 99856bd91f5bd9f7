"""Manual journals: found by their key before anything is created, created, a draft updated, posted
ones voided, drafts deleted, and read back (by id, or by modification date for their status).

Xero's ManualJournals have no number: a journal's stable key (``<reference>/<type code>``) ends its
narration (``... [KEY]``) and is found with ``where=Narration.Contains("[KEY]")`` then compared exactly.
That lookup is what protects a retry after Xero's 6-minute Idempotency-Key window; within the window the
key protects a quick resend. Every call names the scope it needs (``accounting.manualjournals``): a
connection consented without it raises :class:`~payroll_xero.errors.ScopeMissing` ("connect to Xero again
to allow manual journals"), and nothing is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import NotEditable, NotFound, OutcomeUnknown, ValidationFailed, XeroError, XeroUnavailable
from ..journal_values import Journal, narration_has_key
from ..oauth import JOURNAL_SCOPE, XeroEndpoints
from . import values as v
from .compare import journal_differences, readable_journal_errors
from .documents import Documents
from .reads import _since
from .sdk import (
    chunks,
    guid,
    idempotency_key,
    journal_from_model,
    journal_model,
    journal_status_change,
    journals_body,
    messages,
    where_string,
)
from .transport import _NotModified, _Unknown
from .values import JournalPushResult, JournalStatusPage, XeroJournal

_logger = logging.getLogger("payroll_xero.client")

XERO_JOURNAL_URL = "https://go.xero.com/Journal/View.aspx?invoiceID={xero_id}"


def journal_web_url(xero_id: str, endpoints: XeroEndpoints | None = None) -> str:
    """Where a person opens the manual journal ``xero_id`` in Xero (the sandbox: its row on the home page)."""
    api_url = endpoints.api_url.rstrip("/") if endpoints is not None else ""
    if api_url and "api.xero.com" not in api_url:
        return f"{api_url}/#{xero_id}"
    return XERO_JOURNAL_URL.format(xero_id=xero_id)


def _found(journal: Journal, found: XeroJournal, *, created: bool) -> JournalPushResult:
    return JournalPushResult(
        key=journal.key,
        ok=True,
        xero_id=found.xero_id,
        status=found.status,
        debits=found.debits,
        created=created,
        already_existed=not created,
        differences=journal_differences(journal, found),
    )


def _refused(journal: Journal, errors: Sequence[str]) -> JournalPushResult:
    return JournalPushResult(key=journal.key, ok=False, errors=tuple(errors))


class Journals(Documents):
    """Manual journals this app sends (see the module's docstring)."""

    def journal_web_url(self, xero_id: str) -> str:
        return journal_web_url(xero_id, self.endpoints)

    def _journal_call(self, operation: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self._call(operation, fn, *args, needs_scope=JOURNAL_SCOPE, **kwargs)

    # ----------------------------------------------------------------- reads

    def find_journals(self, keys: Sequence[str]) -> tuple[dict[str, XeroJournal], dict[str, list[str]]]:
        """key -> the live (not DELETED/VOIDED) journal whose narration ends with ``[key]``, and key ->
        the ids of DELETED/VOIDED ones; :data:`LOOKUP_BATCH` keys a call, page by page."""
        found: dict[str, XeroJournal] = {}
        gone: dict[str, list[str]] = {}
        for chunk in chunks(sorted(set(keys)), v.LOOKUP_BATCH):
            where = " OR ".join(f"Narration.Contains({where_string(f'[{key}]')})" for key in chunk)
            page = 1
            while True:
                rows = (
                    self._journal_call(
                        "find manual journals", self.accounting.get_manual_journals, where=where, page=page
                    ).manual_journals
                    or []
                )
                for row in rows:
                    journal = journal_from_model(row)
                    key = next((k for k in chunk if narration_has_key(journal.narration, k)), None)
                    if key is None:
                        continue
                    if journal.status in v.GONE_STATUSES:
                        gone.setdefault(key, []).append(journal.xero_id)
                    else:
                        found.setdefault(key, journal)
                if len(rows) < v.STATUS_PAGE:
                    break
                page += 1
        return found, gone

    def find_journal(self, key: str) -> XeroJournal | None:
        """The live journal carrying ``key``, or None."""
        return self.find_journals([key])[0].get(key)

    def get_journal(self, xero_id: str) -> XeroJournal:
        rows = self._journal_call(
            "get manual journal", self.accounting.get_manual_journal, xero_id
        ).manual_journals
        if not rows:
            raise NotFound(f"Xero has no manual journal {xero_id}.")
        return journal_from_model(rows[0])

    def read_journals(self, ids: Sequence[str]) -> Iterator[list[XeroJournal]]:
        """The journals with these ids, 25 a call (``where=ManualJournalID==Guid(...) OR ...``); an id Xero
        does not return is in no batch."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        for chunk in chunks(wanted, v.CREDIT_IDS_BATCH):
            where = " OR ".join(f'ManualJournalID==Guid("{guid(i)}")' for i in chunk)
            answer = self._journal_call(
                "read manual journals", self.accounting.get_manual_journals, where=where, page=1
            )
            yield [journal_from_model(row) for row in answer.manual_journals or ()]

    def changed_journals(self, since: datetime) -> Iterator[JournalStatusPage]:
        """Every manual journal of the organisation modified since ``since`` (aware), oldest change first,
        100 a page; each page's watermark is where a later run resumes once the page is saved (as
        :meth:`changed_bills`). Journals that carry no key are included: match them by id."""
        _since(since, "since")
        ceiling = datetime.now(timezone.utc) - v.CLOCK_MARGIN
        mark, page = since, 1
        while True:
            try:
                rows = (
                    self._journal_call(
                        "changed manual journals",
                        self.accounting.get_manual_journals,
                        if_modified_since=_since(since, "since"),
                        order="UpdatedDateUTC ASC",
                        page=page,
                        page_size=v.STATUS_PAGE,
                    ).manual_journals
                    or []
                )
            except _NotModified:
                rows = []
            journals = tuple(journal_from_model(row) for row in rows)
            last = len(journals) < v.STATUS_PAGE
            stamps = [j.updated_at - timedelta(seconds=1) for j in journals if j.updated_at]
            mark = max([mark, *stamps])
            mark = max(since, ceiling) if last else min(mark, ceiling)
            yield JournalStatusPage(journals=journals, watermark=mark)
            if last:
                return
            page += 1

    # ----------------------------------------------------------------- create

    def create_journals(
        self, journals: Sequence[Journal], *, check_existing: bool = True
    ) -> list[JournalPushResult]:
        """Create manual journals; one result per journal, in the order given.

        With ``check_existing`` (the default) a journal Xero already has (its key ends a live journal's
        narration) is reported ``already_existed`` with its ``differences`` and not sent again. Calls carry
        at most 50 journals, ``summarizeErrors=false`` and an Idempotency-Key; when an answer is lost the
        journals are looked up before anything is resent. Raises :class:`ScopeMissing`,
        :class:`RateLimited`, :class:`ReconnectNeeded`, :class:`XeroUnavailable` or :class:`OutcomeUnknown`
        (with ``partial_results``) when it has to stop.
        """
        results: dict[str, JournalPushResult] = {}
        todo: list[Journal] = []
        for journal in journals:
            if journal.key in results or any(j.key == journal.key for j in todo):
                results[f"{journal.key}#dup{len(results)}"] = _refused(
                    journal, [f"journal {journal.key}: the same journal appears twice in one push."]
                )
            else:
                todo.append(journal)
        try:
            existing = self._journal_lookup(todo) if check_existing else {}
            results.update(
                {j.key: _found(j, existing[j.key], created=False) for j in todo if j.key in existing}
            )
            for chunk in chunks([j for j in todo if j.key not in existing], v.BATCH_SIZE):
                results.update(self._create_journal_chunk(chunk))
        except XeroError as exc:
            exc.partial_results = tuple(results.values())
            raise
        ordered = [results[j.key] for j in todo if j.key in results]
        return ordered + [r for k, r in results.items() if "#dup" in k]

    def _journal_lookup(self, journals: Sequence[Journal]) -> dict[str, XeroJournal]:
        if not journals:
            return {}
        found, gone = self.find_journals([j.key for j in journals])
        for key, ids in gone.items():
            # A journal made again after a delete must not be answered by Xero's replay of the first one.
            self._generation[f"journal:{key}"] = ",".join(sorted(ids))
        return found

    def _creation_key_of(self, journals: Sequence[Journal]) -> str:
        return idempotency_key(
            "manual-journals",
            self.tenant_id,
            [f"{j.key}:{j.content_hash()}:{self._generation.get(f'journal:{j.key}', '')}" for j in journals],
        )

    def _create_journal_chunk(self, chunk: list[Journal]) -> dict[str, JournalPushResult]:
        results: dict[str, JournalPushResult] = {}
        remaining = list(chunk)
        attempt = 0
        while remaining:
            attempt += 1
            try:
                answer = self._journal_call(
                    "create manual journals",
                    self.accounting.create_manual_journals,
                    journals_body([journal_model(j) for j in remaining]),
                    write=True,
                    resend_safe=False,
                    summarize_errors=False,
                    idempotency_key=self._creation_key_of(remaining),
                )
            except ValidationFailed as exc:
                elements = getattr(exc, "elements", [])
                for idx, journal in enumerate(remaining):
                    msgs = elements[idx] if len(elements) == len(remaining) and elements[idx] else exc.errors
                    results[journal.key] = _refused(journal, readable_journal_errors(journal, msgs))
                return results
            except _Unknown as exc:
                remaining = self._recover_journals(exc, remaining, results, attempt)
                continue
            results.update(self._parse_journals(remaining, answer.manual_journals or []))
            break
        return results

    def _recover_journals(
        self, exc: _Unknown, remaining: list[Journal], results: dict[str, JournalPushResult], attempt: int
    ) -> list[Journal]:
        """A creation's answer was lost: look the journals up; the ones Xero has are done, the rest is resent."""
        keys = [j.key for j in remaining]
        _logger.warning(
            "Xero tenant %s: no answer to the creation of %d manual journals (%s): looking them up",
            self.tenant_id,
            len(remaining),
            exc.reason,
        )
        if attempt < self.max_attempts:
            self._backoff(attempt)
        try:
            found = self._journal_lookup(remaining)
        except XeroError as lookup_error:
            raise OutcomeUnknown(
                f"Xero did not confirm the creation of {len(keys)} manual journal(s) and could not be asked "
                "whether they exist; the next push looks them up first.",
                keys,
                correlation_id=exc.correlation_id or lookup_error.correlation_id,
                partial_results=tuple(results.values()),
            ) from None
        results.update({j.key: _found(j, found[j.key], created=True) for j in remaining if j.key in found})
        remaining = [j for j in remaining if j.key not in found]
        if remaining and attempt >= self.max_attempts:
            raise XeroUnavailable(
                f"Xero is unavailable ({exc.reason} after {attempt} attempts); "
                f"{len(remaining)} manual journal(s) were not created, try again later.",
                correlation_id=exc.correlation_id,
                partial_results=tuple(results.values()),
            ) from None
        return remaining

    @staticmethod
    def _parse_journals(journals: list[Journal], answer: list[Any]) -> dict[str, JournalPushResult]:
        results = {}
        for idx, journal in enumerate(journals):
            doc = next((d for d in answer if narration_has_key(d.narration, journal.key)), None)
            if doc is None and len(answer) == len(journals):
                doc = answer[idx]
            if doc is None:
                results[journal.key] = _refused(
                    journal, [f"journal {journal.key}: Xero's answer does not mention it."]
                )
                continue
            errors = messages(doc.validation_errors)
            if errors or doc.status_attribute_string == "ERROR":
                errors = errors or ["Xero refused the journal without a message."]
                results[journal.key] = _refused(journal, readable_journal_errors(journal, errors))
                continue
            made = journal_from_model(doc)
            results[journal.key] = JournalPushResult(
                key=journal.key,
                ok=True,
                xero_id=made.xero_id,
                status=made.status,
                debits=made.debits,
                warnings=tuple(messages(getattr(doc, "warnings", None))),
                created=True,
            )
        return results

    # ----------------------------------------------------------------- change

    def _current(self, xero_id: str, key: str | None = None) -> XeroJournal:
        """The journal ``xero_id``, checked to carry ``key`` when given (no record aims at another journal)."""
        current = self.get_journal(xero_id)
        if key is not None and not narration_has_key(current.narration, key):
            raise ValidationFailed(
                [
                    f"Xero's manual journal {xero_id} is not journal {key} (its narration is {current.narration!r})."
                ],
                subject=f"journal {key}",
            )
        return current

    def update_draft_journal(self, xero_id: str, journal: Journal) -> JournalPushResult:
        """Replace the content of the DRAFT journal ``xero_id`` (which must carry ``journal.key``).

        A journal POSTED, VOIDED or DELETED in Xero is never changed: :class:`NotEditable` says so (void a
        posted one with :meth:`cancel_journal`, then generate again for a new journal).
        """
        current = self._current(xero_id, journal.key)
        if current.status != "DRAFT":
            what = {
                "POSTED": "is posted in Xero: a posted journal is never changed. Cancel it (it is voided) and "
                "generate again to post a new one",
                "VOIDED": "was voided in Xero: generating again makes a new journal",
                "DELETED": "was deleted in Xero: generating again makes a new journal",
            }.get(current.status or "", f"is {current.status} in Xero and cannot be changed")
            raise NotEditable(
                [f"journal {journal.key} {what}."], status=current.status, subject=f"journal {journal.key}"
            )
        key = idempotency_key("journal-update", self.tenant_id, [xero_id, journal.content_hash()])
        try:
            rows = self._journal_call(
                "update manual journal",
                self.accounting.update_manual_journal,
                xero_id,
                journals_body([journal_model(journal, xero_id)]),
                write=True,
                idempotency_key=key,
            ).manual_journals
        except ValidationFailed as exc:
            raise ValidationFailed(
                readable_journal_errors(journal, exc.errors),
                subject=f"journal {journal.key}",
                correlation_id=exc.correlation_id,
            ) from None
        result = self._parse_journals([journal], rows or [])[journal.key]
        if not result.ok:
            raise ValidationFailed(result.errors, subject=f"journal {journal.key}")
        return replace(result, created=False)

    def _set_journal_status(self, current: XeroJournal, status: str) -> XeroJournal:
        subject = f"journal {current.key or current.xero_id}"
        try:
            rows = self._journal_call(
                f"{status.lower()} manual journal",
                self.accounting.update_manual_journal,
                current.xero_id,
                journals_body([journal_status_change(current.xero_id, current.narration or "", status)]),
                write=True,
                idempotency_key=idempotency_key("journal-status", self.tenant_id, [current.xero_id, status]),
            ).manual_journals
        except ValidationFailed as exc:
            raise ValidationFailed(exc.errors, subject=subject, correlation_id=exc.correlation_id) from None
        errors = (
            messages(rows[0].validation_errors) if rows else ["Xero's answer does not mention the journal."]
        )
        if errors:
            raise ValidationFailed(errors, subject=subject)
        return journal_from_model(rows[0])

    def delete_journal(self, xero_id: str, key: str | None = None) -> XeroJournal:
        """DRAFT -> DELETED; a posted journal raises :class:`NotEditable` (void it)."""
        current = self._current(xero_id, key)
        if current.status != "DRAFT":
            raise NotEditable(
                [f"journal {current.key or xero_id} is {current.status} in Xero: only a draft is deleted."],
                status=current.status,
            )
        return self._set_journal_status(current, "DELETED")

    def void_journal(self, xero_id: str, key: str | None = None) -> XeroJournal:
        """POSTED -> VOIDED; a draft raises :class:`NotEditable` (delete it); already voided: returned as is."""
        current = self._current(xero_id, key)
        if current.status == "VOIDED":
            return current
        if current.status != "POSTED":
            raise NotEditable(
                [
                    f"journal {current.key or xero_id} is {current.status} in Xero: only a posted journal is voided."
                ],
                status=current.status,
            )
        return self._set_journal_status(current, "VOIDED")

    def cancel_journal(self, xero_id: str, key: str | None = None) -> XeroJournal:
        """Delete a draft or void a posted journal; one already DELETED or VOIDED is returned as is."""
        current = self._current(xero_id, key)
        if current.status in v.GONE_STATUSES:
            return current
        if current.status == "DRAFT":
            return self._set_journal_status(current, "DELETED")
        if current.status == "POSTED":
            return self._set_journal_status(current, "VOIDED")
        raise NotEditable(
            [f"journal {current.key or xero_id} is {current.status} in Xero and cannot be cancelled."],
            status=current.status,
        )
