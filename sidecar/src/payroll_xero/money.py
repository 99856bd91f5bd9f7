"""Currency codes and their minor units (ISO 4217), rounding money once, and the largest amount."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Every amount sent to Xero (a pay item on a payslip, a bill line, a bill total) stays strictly below this
# in absolute value: Xero stores at most 13 digits before the decimal point. Bigger ones are typing errors
# (or an exponent such as "1e30"), refused when a pay run is loaded and reported by build_bills.
MAX_AMOUNT = Decimal(10) ** 13

# ISO 4217 active codes with a minor unit other than 2. Every other code in
# ISO_4217_CODES has two decimals.
_MINOR_UNITS: dict[str, int] = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0,
    "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0,
    "XOF": 0, "XPF": 0,
}  # fmt: skip

ISO_4217_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
    MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
    PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS
    VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()
)


def is_iso_currency(code: object) -> bool:
    """True when ``code`` is an active ISO 4217 alphabetic code such as ``HKD``."""
    return isinstance(code, str) and code in ISO_4217_CODES


def minor_unit(code: str) -> int:
    """Number of decimals of ``code`` (2 for most currencies, 0 for JPY, 3 for KWD)."""
    return _MINOR_UNITS.get(code, 2)


def quantum(code: str) -> Decimal:
    """The smallest amount of ``code``: ``Decimal('0.01')`` for HKD."""
    return Decimal(1).scaleb(-minor_unit(code))


def round_money(amount: Decimal, code: str) -> Decimal:
    """Round ``amount`` half up to the minor unit of ``code``."""
    return amount.quantize(quantum(code), rounding=ROUND_HALF_UP)


def amount_in_range(amount: Decimal) -> bool:
    """True when ``amount`` is a finite number strictly between ``-MAX_AMOUNT`` and ``MAX_AMOUNT``."""
    return amount.is_finite() and -MAX_AMOUNT < amount < MAX_AMOUNT
