"""Contacts: found by ContactNumber (an employee) or name, created in batches when missing, cached."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xero_python.accounting.models import Contacts as ContactsBody

from ..errors import OutcomeUnknown, ValidationFailed
from .reads import Reads
from .sdk import chunks, contact_model, enum_value, idempotency_key, messages, where_string
from .transport import _Unknown
from .values import BATCH_SIZE, LOOKUP_BATCH, namesake_contact_name

ContactKey = tuple[str, str]
Wanted = dict[ContactKey, tuple[str, "str | None"]]
Errors = dict[ContactKey, tuple[str, ...]]


class Contacts(Reads):
    """The contacts bills are addressed to."""

    @staticmethod
    def _contact_key(name: str, contact_number: str | None) -> ContactKey:
        return ("number", contact_number) if contact_number else ("name", name.strip().casefold())

    def _contacts_where(self, field: str, values: Sequence[str]) -> list[Any]:
        """Contacts whose ``field`` is one of ``values`` (LOOKUP_BATCH values per call), archived last."""
        rows: list[Any] = []
        for chunk in chunks(sorted(set(values)), LOOKUP_BATCH):
            where = " OR ".join(f"{field}=={where_string(v)}" for v in chunk)
            rows += self._call("find contacts", self.accounting.get_contacts, where=where).contacts or []
        return sorted(rows, key=lambda c: enum_value(c.contact_status) == "ARCHIVED")

    def _contacts_named(self, names: Sequence[str]) -> dict[str, Any]:
        """casefolded name -> the first contact of that name (active before archived)."""
        by_name: dict[str, Any] = {}
        for row in self._contacts_where("Name", [n.strip() for n in names]):
            by_name.setdefault((row.name or "").strip().casefold(), row)
        return by_name

    def _contacts_for_numbers(self, numbers: Sequence[str]) -> list[Any]:
        return [r for r in self._contacts_where("ContactNumber", numbers) if r.contact_number]

    def find_contact(self, name: str, contact_number: str | None = None) -> str | None:
        """The ContactID of an existing contact (by ``contact_number``, else by ``name``); never creates one."""
        key = self._contact_key(name, contact_number)
        if key not in self._contacts:
            if contact_number:
                rows = self._contacts_for_numbers([contact_number])
            else:
                row = self._contacts_named([name]).get(name.strip().casefold())
                rows = [row] if row is not None else []
            if rows:
                self._contacts[key] = rows[0].contact_id
        return self._contacts.get(key)

    def remember_contact(self, name: str, contact_number: str | None, contact_id: str) -> None:
        """Seed the contact cache with a ContactID the caller stored earlier (spares a lookup)."""
        self._contacts[self._contact_key(name, contact_number)] = contact_id

    def ensure_contact(self, name: str, contact_number: str | None = None) -> str:
        """The ContactID of the contact with ``contact_number`` (an employee) or else ``name``;
        created when missing. Cached per client. Raises :class:`ValidationFailed`."""
        ids, errors = self.ensure_contacts([(name, contact_number)])
        key = self._contact_key(name, contact_number)
        if key in errors:
            raise ValidationFailed(errors[key], subject=f'contact "{name}"')
        return ids[key]

    def ensure_contacts(
        self, contacts: Sequence[tuple[str, str | None]]
    ) -> tuple[dict[ContactKey, str], Errors]:
        """ContactIDs for many (name, contact_number) pairs in few calls: look up by number, then by
        name, then create the missing ones in batches. Returns (key -> ContactID, key -> errors),
        keys as :meth:`_contact_key`. A same-named contact without a number is adopted (its
        ContactNumber is set); a namesake with another number makes "Name (number)", the name cut when
        that would pass Xero's 255 characters (:func:`.values.namesake_contact_name`)."""
        wanted: Wanted = {}
        for name, number in contacts:
            key = self._contact_key(name, number)
            if key not in self._contacts:
                wanted.setdefault(key, (name.strip(), number or None))
        errors: Errors = {}
        if wanted:
            self._resolve_contacts(wanted, errors)
        keys = [self._contact_key(n, c) for n, c in contacts]
        return {key: self._contacts[key] for key in keys if key in self._contacts}, errors

    def _resolve_contacts(self, wanted: Wanted, errors: Errors) -> None:
        numbers = [num for _name, num in wanted.values() if num]
        if numbers:
            for row in self._contacts_for_numbers(numbers):
                self._contacts.setdefault(("number", row.contact_number), row.contact_id)
        missing = {k: v for k, v in wanted.items() if k not in self._contacts}
        if not missing:
            return
        by_name = self._contacts_named([name for name, _num in missing.values()])
        to_create: Wanted = {}
        for key, (name, number) in missing.items():
            row = by_name.get(name.casefold())
            if row is None:
                to_create[key] = (name, number)
            elif not number:
                self._contacts[key] = row.contact_id
            elif not row.contact_number:
                self._number_contact(row, number)
                self._contacts[key] = row.contact_id
            else:
                to_create[key] = (namesake_contact_name(name, number), number)
        for chunk in chunks(list(to_create.items()), BATCH_SIZE):
            self._create_contacts(dict(chunk), errors)

    def _number_contact(self, row: Any, number: str) -> None:
        """Adopt a same-named contact without a number: give it the employee's ContactNumber."""
        self._call(
            "number contact",
            self.accounting.update_contact,
            row.contact_id,
            self._contacts_body([contact_model(contact_id=row.contact_id, contact_number=number)]),
            write=True,
            idempotency_key=idempotency_key("contact-number", self.tenant_id, [row.contact_id, number]),
        )
        row.contact_number = number

    @staticmethod
    def _contacts_body(models: list) -> ContactsBody:
        return ContactsBody(contacts=models)

    def _create_contacts(self, todo: Wanted, errors: Errors) -> None:
        for attempt in range(1, self.max_attempts + 1):
            items = list(todo.items())
            key = idempotency_key("contacts", self.tenant_id, [f"{n}\t{c or ''}" for _k, (n, c) in items])
            try:
                rows = self._call(
                    "create contacts",
                    self.accounting.create_contacts,
                    self._contacts_body([contact_model(name=n, contact_number=c) for _k, (n, c) in items]),
                    write=True,
                    resend_safe=False,
                    summarize_errors=False,
                    idempotency_key=key,
                ).contacts
            except ValidationFailed as exc:
                elements = getattr(exc, "elements", [])
                for idx, (k, (name, _num)) in enumerate(items):
                    msgs = elements[idx] if len(elements) == len(items) and elements[idx] else exc.errors
                    errors[k] = tuple(f'Contact "{name}": {m}' for m in msgs)
                return
            except _Unknown as exc:
                if attempt >= self.max_attempts:
                    raise OutcomeUnknown(
                        f"Xero did not confirm the creation of {len(items)} contact(s) ({exc.reason}): retry later.",
                        correlation_id=exc.correlation_id,
                    ) from None
                self._backoff(attempt)
                if self._adopt_created(todo):
                    return
                continue
            for (k, (name, _num)), row in zip(items, rows or [], strict=False):
                msgs = messages(row.validation_errors)
                if msgs:
                    errors[k] = tuple(f'Contact "{name}": {m}' for m in msgs)
                else:
                    self._contacts[k] = row.contact_id
            return

    def _adopt_created(self, todo: Wanted) -> bool:
        """After a lost answer: look the contacts up before sending again; True when all were made."""
        items = list(todo.items())
        numbers = [c for _k, (_n, c) in items if c]
        found = {r.contact_number: r for r in self._contacts_for_numbers(numbers)} if numbers else {}
        unnumbered = [n for _k, (n, c) in items if not c]
        names = self._contacts_named(unnumbered) if unnumbered else {}
        for k, (name, number) in items:
            row = found.get(number) if number else names.get(name.casefold())
            if row is not None:
                self._contacts[k] = row.contact_id
                del todo[k]
        return not todo
