"""payroll_xero: post payroll pay runs to Xero as bills."""

from .bills import ACCPAY, ACCPAYCREDIT, Bill, BillLine, BuildResult, Problem, build_bills
from .model import Mapping, MappingLine, MappingType, PayLine, PayRun, Payslip

__version__ = "0.1.0"

__all__ = [
    "ACCPAY",
    "ACCPAYCREDIT",
    "Bill",
    "BillLine",
    "BuildResult",
    "Mapping",
    "MappingLine",
    "MappingType",
    "PayLine",
    "PayRun",
    "Payslip",
    "Problem",
    "build_bills",
]
