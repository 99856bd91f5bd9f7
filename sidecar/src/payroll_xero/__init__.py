"""payroll_xero: post payroll pay runs to Xero as bills or manual journals."""

from .bills import ACCPAY, ACCPAYCREDIT, Bill, BillLine, BuildResult, Problem, build_bills
from .journals import (
    DocumentsResult,
    Journal,
    JournalLine,
    JournalResult,
    UnbalancedJournal,
    build_documents,
    build_journals,
)
from .model import Mapping, MappingLine, MappingType, PayLine, PayRun, Payslip

__version__ = "0.1.0"

__all__ = [
    "ACCPAY",
    "ACCPAYCREDIT",
    "Bill",
    "BillLine",
    "BuildResult",
    "DocumentsResult",
    "Journal",
    "JournalLine",
    "JournalResult",
    "Mapping",
    "MappingLine",
    "MappingType",
    "PayLine",
    "PayRun",
    "Payslip",
    "Problem",
    "UnbalancedJournal",
    "build_bills",
    "build_documents",
    "build_journals",
]
