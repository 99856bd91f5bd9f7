"""Seed data of the sandbox: the demo app client and two Hong Kong organisations.

Everything here is deterministic (fixed ids), so tests and demos can name the tenants and accounts.
"""

from __future__ import annotations

import uuid
from typing import Any

DEMO_CLIENT_ID = "sandbox-client-id"
DEMO_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - a public demo secret
DEMO_APP_NAME = "Payroll Xero Sandbox App"
DEMO_USER_ID = "6a1d3c0e-52b4-4f0e-9d7a-0c3e5b8f2a11"
DEMO_TENANT_ID = "3f1c2a6e-9b7d-4c1e-8a52-6d0f4b7e1a01"
SECOND_TENANT_ID = "8a4e7c2d-1f3b-4e6a-9c85-2b7d0e9f4c02"

SEED_TIMESTAMP = "2025-01-01T00:00:00"

_NAMESPACE = uuid.UUID("0b7f4c3e-2d1a-4e5f-8a9b-1c2d3e4f5a6b")

# (code, name, type, class, status, tax type, system account)
_PAYROLL_CHART: list[tuple[str, str, str, str, str, str, str | None]] = [
    ("090", "Business Bank Account", "BANK", "ASSET", "ACTIVE", "NONE", None),
    ("200", "Sales", "REVENUE", "REVENUE", "ACTIVE", "NONE", None),
    ("475", "Old Wages (archived)", "EXPENSE", "EXPENSE", "ARCHIVED", "NONE", None),
    ("476", "Casual Labour (archived)", "EXPENSE", "EXPENSE", "ARCHIVED", "NONE", None),
    ("477", "Wages and Salaries", "EXPENSE", "EXPENSE", "ACTIVE", "NONE", None),
    ("478", "MPF Employer Contributions", "EXPENSE", "EXPENSE", "ACTIVE", "NONE", None),
    ("479", "Staff Allowances", "EXPENSE", "EXPENSE", "ACTIVE", "NONE", None),
    ("480", "Overtime", "EXPENSE", "EXPENSE", "ACTIVE", "NONE", None),
    ("481", "Staff Welfare", "OVERHEADS", "EXPENSE", "ACTIVE", "EXEMPTEXPENSES", None),
    ("482", "Bonuses and Commissions", "EXPENSE", "EXPENSE", "ACTIVE", "NONE", None),
    ("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "ACTIVE", "NONE", "CREDITORS"),
    ("814", "Wages Payable - Payroll", "CURRLIAB", "LIABILITY", "ACTIVE", "NONE", None),
    ("825", "MPF Payable", "CURRLIAB", "LIABILITY", "ACTIVE", "NONE", None),
    ("826", "Employee Deductions Payable", "CURRLIAB", "LIABILITY", "ACTIVE", "NONE", None),
    ("827", "Old MPF Clearing (archived)", "CURRLIAB", "LIABILITY", "ARCHIVED", "NONE", None),
]

DEPARTMENTS = ["Operations", "Finance", "Sales", "Engineering", "Human Resources"]

# Tax rates every seeded organisation knows (Hong Kong has no GST/VAT: all are 0 %).
TAX_RATES: dict[str, str] = {"NONE": "0", "EXEMPTEXPENSES": "0", "EXEMPTINPUT": "0", "INPUT": "0"}

_ORGANISATIONS: list[dict[str, Any]] = [
    {
        "OrganisationID": DEMO_TENANT_ID,
        "Name": "Harbour Payroll Demo Ltd",
        "LegalName": "Harbour Payroll Demo Limited",
        "ShortCode": "!hpd01",
        "BaseCurrency": "HKD",
        "Currencies": [("HKD", "Hong Kong Dollar"), ("USD", "United States Dollar")],
    },
    {
        "OrganisationID": SECOND_TENANT_ID,
        "Name": "Kowloon Trading Ltd",
        "LegalName": "Kowloon Trading Limited",
        "ShortCode": "!kwt02",
        "BaseCurrency": "HKD",
        "Currencies": [("HKD", "Hong Kong Dollar")],
    },
]


def stable_id(*parts: str) -> str:
    """A fixed uuid derived from ``parts`` (same input, same id, across restarts)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def account(
    tenant_id: str,
    code: str,
    name: str,
    type_: str = "EXPENSE",
    status: str = "ACTIVE",
    *,
    class_: str | None = None,
    tax_type: str = "NONE",
    system_account: str | None = None,
    updated: str = SEED_TIMESTAMP,
) -> dict[str, Any]:
    """An Account document in Xero's JSON shape (dates ISO here, converted on output)."""
    classes = {
        "BANK": "ASSET",
        "CURRENT": "ASSET",
        "FIXED": "ASSET",
        "CURRLIAB": "LIABILITY",
        "LIABILITY": "LIABILITY",
        "TERMLIAB": "LIABILITY",
        "REVENUE": "REVENUE",
        "SALES": "REVENUE",
        "OTHERINCOME": "REVENUE",
        "EQUITY": "EQUITY",
    }
    doc: dict[str, Any] = {
        "AccountID": stable_id(tenant_id, "account", code),
        "Code": code,
        "Name": name,
        "Type": type_,
        "Class": class_ or classes.get(type_, "EXPENSE"),
        "Status": status,
        "TaxType": tax_type,
        "EnablePaymentsToAccount": type_ == "BANK",
        "ShowInExpenseClaims": False,
        "ReportingCode": "",
        "HasAttachments": False,
        "UpdatedDateUTC": updated,
    }
    if type_ == "BANK":
        doc["BankAccountType"] = "BANK"
        doc["BankAccountNumber"] = "004-123-456789-001"
        doc["CurrencyCode"] = "HKD"
    if system_account:
        doc["SystemAccount"] = system_account
    return doc


def organisations() -> list[dict[str, Any]]:
    """The Organisation documents (one per tenant)."""
    result = []
    for org in _ORGANISATIONS:
        result.append(
            {
                "OrganisationID": org["OrganisationID"],
                "APIKey": "",
                "Name": org["Name"],
                "LegalName": org["LegalName"],
                "PaysTax": False,
                "Version": "GLOBAL",
                "OrganisationType": "COMPANY",
                "BaseCurrency": org["BaseCurrency"],
                "CountryCode": "HK",
                "IsDemoCompany": False,
                "OrganisationStatus": "ACTIVE",
                "RegistrationNumber": "",
                "TaxNumber": "",
                "FinancialYearEndDay": 31,
                "FinancialYearEndMonth": 3,
                "SalesTaxBasis": "NONE",
                "DefaultSalesTax": "Tax Exclusive",
                "DefaultPurchasesTax": "Tax Exclusive",
                "PeriodLockDate": None,
                "EndOfYearLockDate": None,
                "CreatedDateUTC": SEED_TIMESTAMP,
                "Timezone": "CHINASTANDARDTIME",
                "OrganisationEntityType": "COMPANY",
                "Class": "STANDARD",
                "Edition": "BUSINESS",
                "LineOfBusiness": "Payroll services",
                "Addresses": [],
                "Phones": [],
                "ExternalLinks": [],
                "PaymentTerms": {},
            }
        )
    return result


def currencies(tenant_id: str) -> list[dict[str, str]]:
    """The currencies an organisation is subscribed to."""
    org = next(o for o in _ORGANISATIONS if o["OrganisationID"] == tenant_id)
    return [{"Code": code, "Description": name} for code, name in org["Currencies"]]


def currency_name(code: str) -> str:
    """A readable name for a currency code (the sandbox only knows a few)."""
    names = {
        "HKD": "Hong Kong Dollar",
        "USD": "United States Dollar",
        "CNY": "Chinese Yuan",
        "EUR": "Euro",
        "GBP": "British Pound",
        "SGD": "Singapore Dollar",
    }
    return names.get(code, code)


def accounts(tenant_id: str) -> list[dict[str, Any]]:
    """The chart of accounts of an organisation."""
    return [
        account(tenant_id, code, name, type_, status, class_=class_, tax_type=tax, system_account=system)
        for code, name, type_, class_, status, tax, system in _PAYROLL_CHART
    ]


def tracking_categories(tenant_id: str) -> list[dict[str, Any]]:
    """The tracking categories of an organisation ("Department" with its options)."""
    category_id = stable_id(tenant_id, "tracking", "Department")
    return [
        {
            "TrackingCategoryID": category_id,
            "Name": "Department",
            "Status": "ACTIVE",
            "Options": [
                {
                    "TrackingOptionID": stable_id(tenant_id, "tracking", "Department", name),
                    "Name": name,
                    "Status": "ACTIVE",
                    "TrackingCategoryID": category_id,
                }
                for name in DEPARTMENTS
            ],
        }
    ]


def tenant_ids() -> list[str]:
    """The ids of the seeded organisations, demo organisation first."""
    return [o["OrganisationID"] for o in _ORGANISATIONS]


def demo_client() -> dict[str, Any]:
    """The demo app: it accepts the redirect URIs registered for it and any http(s) URI on a
    loopback host (``http://localhost:8069/hr_payroll_xero/oauth/callback``, ``http://127.0.0.1/...``),
    so the tests, the command line and the docker demo need no registration."""
    return {
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "name": DEMO_APP_NAME,
        "redirect_uris": [],
        "loopback_redirects": True,
    }
