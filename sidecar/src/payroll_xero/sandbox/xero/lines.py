"""The line items of an invoice or credit note: accounts, tracking, amounts and totals, checked as Xero does."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .. import seed
from .ledger import APPROVED, Ledger
from .values import TWO_PLACES, XeroValueError, dec, money


def build_lines(
    ledger: Ledger, raw_lines: Any, status: str, line_amount_types: str, unitdp: int, errors: list[str]
) -> list[dict[str, Any]]:
    if raw_lines is None:
        return []
    if not isinstance(raw_lines, list):
        errors.append("LineItems must be a list")
        return []
    categories = ledger.tracking_categories()
    unit_places = Decimal(1).scaleb(-unitdp)
    lines = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            errors.append("Each line item must be an object")
            continue
        description = str(raw.get("Description") or "").strip()
        if not description:
            errors.append("The description field is mandatory for each line item.")
        try:
            quantity = dec(raw.get("Quantity", 1) if raw.get("Quantity") is not None else 1, "Quantity")
            unit = dec(raw["UnitAmount"], "UnitAmount") if raw.get("UnitAmount") is not None else None
            amount = dec(raw["LineAmount"], "LineAmount") if raw.get("LineAmount") is not None else None
        except XeroValueError as exc:
            errors.append(str(exc))
            continue
        if amount is None:
            amount = (quantity * (unit or Decimal(0))).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        elif unit is None:
            unit = amount / quantity if quantity else Decimal(0)
        account, code = _line_account(ledger, raw, status, errors)
        tax_type, tax = _line_tax(raw, account, amount, line_amount_types, errors)
        tracking = build_tracking(categories, raw.get("Tracking"), errors)
        line = {
            "LineItemID": str(raw.get("LineItemID") or uuid.uuid4()),
            "Description": description,
            "Quantity": money(quantity, Decimal("0.0001")),
            "UnitAmount": money(unit or Decimal(0), unit_places),
            "TaxType": tax_type,
            "TaxAmount": money(tax),
            "LineAmount": money(amount),
            "Tracking": tracking,
        }
        if account is not None:
            line["AccountCode"] = account["Code"]
            line["AccountID"] = account["AccountID"]
        elif code not in (None, ""):
            line["AccountCode"] = str(code)
        lines.append(line)
    return lines


def _line_account(
    ledger: Ledger, raw: dict[str, Any], status: str, errors: list[str]
) -> tuple[dict[str, Any] | None, Any]:
    """The account a line names (by code or id) and the code it gave; errors when Xero would refuse it."""
    account = None
    code = raw.get("AccountCode")
    if code not in (None, "") or raw.get("AccountID"):
        account = ledger.account(
            code=str(code) if code not in (None, "") else None, account_id=raw.get("AccountID")
        )
        shown = code if code not in (None, "") else raw.get("AccountID")
        if account is None:
            errors.append(f"Account code '{shown}' is not a valid code for this document.")
        elif account["Status"] != "ACTIVE":
            errors.append(
                f"The account code '{account['Code']}' has been archived, or has been deleted. "
                "Each line item must reference a valid account."
            )
        elif account.get("SystemAccount") or account["Type"] == "BANK":
            errors.append(
                f"Account code '{account['Code']}' is a system or bank account and cannot be "
                "used on this document."
            )
    elif status in APPROVED:
        errors.append("Each line item must have an account code before the document can be approved.")
    return account, code


def _line_tax(
    raw: dict[str, Any],
    account: dict[str, Any] | None,
    amount: Decimal,
    line_amount_types: str,
    errors: list[str],
) -> tuple[str, Decimal]:
    """A line's tax type (its own, else its account's) and tax amount."""
    tax_type = str(raw.get("TaxType") or (account or {}).get("TaxType") or "NONE")
    if tax_type not in seed.TAX_RATES:
        errors.append(
            f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of transaction."
        )
        rate = Decimal(0)
    else:
        rate = Decimal(seed.TAX_RATES[tax_type]) / 100
    if line_amount_types == "NoTax":
        tax = Decimal(0)
    elif line_amount_types == "Inclusive":
        tax = amount * rate / (1 + rate)
    else:
        tax = amount * rate
    return tax_type, tax


def _by_id_or_name(
    items: list[dict[str, Any]], id_field: str, wanted_id: Any, name: Any
) -> dict[str, Any] | None:
    """The first of ``items`` whose ``id_field`` is ``wanted_id`` or whose Name is ``name`` (any case)."""
    return next(
        (x for x in items if x[id_field] == wanted_id or (name and x["Name"].lower() == str(name).lower())),
        None,
    )


def build_tracking(categories: list[dict[str, Any]], raw: Any, errors: list[str]) -> list[dict[str, Any]]:
    if not raw:
        return []
    if not isinstance(raw, list):
        errors.append("Tracking must be a list")
        return []
    if len(raw) > 2:
        errors.append("A line item can only be tracked against two tracking categories.")
    result = []
    for item in raw:
        item = item if isinstance(item, dict) else {}
        category = _by_id_or_name(
            categories, "TrackingCategoryID", item.get("TrackingCategoryID"), item.get("Name")
        )
        if category is None or category["Status"] != "ACTIVE":
            errors.append(
                f"The tracking category '{item.get('Name') or item.get('TrackingCategoryID')}' "
                "does not exist or is archived."
            )
            continue
        option = _by_id_or_name(
            category["Options"], "TrackingOptionID", item.get("TrackingOptionID"), item.get("Option")
        )
        if option is None or option["Status"] != "ACTIVE":
            errors.append(
                f"'{item.get('Option') or item.get('TrackingOptionID')}' is not a valid option for "
                f"the tracking category '{category['Name']}'."
            )
            continue
        result.append(
            {
                "TrackingCategoryID": category["TrackingCategoryID"],
                "Name": category["Name"],
                "TrackingOptionID": option["TrackingOptionID"],
                "Option": option["Name"],
            }
        )
    return result


def totals(lines: list[dict[str, Any]], line_amount_types: str) -> tuple[Decimal, Decimal, Decimal]:
    amounts = sum((Decimal(line["LineAmount"]) for line in lines), Decimal(0))
    tax = sum((Decimal(line["TaxAmount"]) for line in lines), Decimal(0)).quantize(TWO_PLACES)
    if line_amount_types == "Inclusive":
        return amounts - tax, tax, amounts
    return amounts, tax, amounts + tax
