"""``payroll-xero journals``, and ``push`` / ``status`` of a mapping with journal types, against the sandbox."""

from __future__ import annotations

import json
from decimal import Decimal

from test_jobs import EXAMPLES, _connected, _run, env  # noqa: F401  (the env fixture)

from payroll_xero.cli import main
from payroll_xero.client import Account
from payroll_xero.journal_jobs import journal_preflight_problems
from payroll_xero.journals import build_journals
from payroll_xero.loaders import load_mapping, load_pay_run
from payroll_xero.sandbox import DEMO_TENANT_ID

PAY_RUN = EXAMPLES / "payrun.json"
JOURNAL_MAPPING = EXAMPLES / "mapping_journal.json"
T = DEMO_TENANT_ID


def test_journals_prints_the_journal_with_debit_and_credit_columns(capsys):
    assert main(["journals", str(PAY_RUN), "--mapping", str(JOURNAL_MAPPING)]) == 0
    out = capsys.readouterr().out
    assert "JOURNAL PAY-2026-10/PJ  DRAFT" in out
    assert "PAY-2026-10 - Payroll journal [PAY-2026-10/PJ]" in out
    assert "Department: Operations" in out and "1 journal(s)" in out
    total = next(line for line in out.splitlines() if "Total" in line).split()
    assert total[-1] == total[-2]  # debits equal credits


def test_journals_json_gives_each_journal_its_lines_totals_and_problems(capsys):
    assert main(["journals", str(PAY_RUN), "--mapping", str(JOURNAL_MAPPING), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["problems"] == []
    (journal,) = data["journals"]
    assert journal["key"] == "PAY-2026-10/PJ" and journal["document"] == "journal"
    assert journal["debits"] == journal["credits"]
    assert sum(Decimal(line["amount"]) for line in journal["lines"]) == 0
    assert {"account_code", "description", "amount", "tracking", "rounding"} <= set(journal["lines"][0])


def test_journals_exits_1_on_an_unbalanced_journal_and_2_on_a_bad_file(tmp_path, capsys):
    mapping = json.loads(JOURNAL_MAPPING.read_text())
    mapping["types"][0]["lines"].pop()  # no NET line: nothing credits the net salaries
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping))
    assert main(["journals", str(PAY_RUN), "--mapping", str(path)]) == 1
    out = capsys.readouterr().out
    assert "ERROR: Journal PAY-2026-10/PJ" in out and "does not balance" in out and "0 journal(s)" in out
    mapping["types"][0]["status"] = "AUTHORISED"
    path.write_text(json.dumps(mapping))
    assert main(["journals", str(PAY_RUN), "--mapping", str(path)]) == 2
    assert "types[0].status" in capsys.readouterr().err


def test_push_sends_bills_and_journals_once(sandbox, env, tmp_path):  # noqa: F811
    _connected(sandbox, env)
    bill_types = json.loads((EXAMPLES / "mapping.json").read_text())["types"]
    journal_type = json.loads(JOURNAL_MAPPING.read_text())["types"][0]
    both = {"types": [next(t for t in bill_types if t["code"] == "MPF"), journal_type]}  # few calls
    mapping = tmp_path / "both.json"
    mapping.write_text(json.dumps(both))
    code, first = _run(["push", str(PAY_RUN), "--mapping", str(mapping)])
    assert code == 0, first
    assert "PAY-2026-10/PJ: created (journal " in first
    assert "journals: 1 created, 0 already in Xero, 0 refused." in first
    bills = len(sandbox.invoices(T))
    code, second = _run(["push", str(PAY_RUN), "--mapping", str(mapping)])
    assert code == 0, second
    assert "journals: 0 created, 1 already in Xero, 0 refused." in second
    assert len(sandbox.journals(T)) == 1 and len(sandbox.invoices(T)) == bills

    (stored,) = sandbox.journals(T)
    sandbox.edit_journal(T, stored["ManualJournalID"], line=0, move_amount="10.00")
    code, status = _run(["status", str(PAY_RUN), "--mapping", str(mapping)])
    assert code == 0, status
    assert "PAY-2026-10/PJ: DRAFT journal, debits" in status
    assert "  changed in Xero: line 1 (Basic salaries), amount: " in status
    sandbox.delete_journal(T, stored["ManualJournalID"])
    code, status = _run(["status", str(PAY_RUN), "--mapping", str(mapping)])
    assert "PAY-2026-10/PJ: DELETED journal" in status and "changed in Xero: line" not in status


def test_push_refuses_a_journal_on_an_archived_account_before_sending(sandbox, env):  # noqa: F811
    _connected(sandbox, env)
    sandbox.archive_account(T, "480")
    code, out = _run(["push", str(PAY_RUN), "--mapping", str(JOURNAL_MAPPING)])
    assert code == 1, out
    assert "PAY-2026-10/PJ: ERROR (journal), not sent:" in out
    assert 'account 480 "Overtime" is archived in Xero' in out
    assert "journals: 0 created, 0 already in Xero, 1 refused." in out
    assert sandbox.journals(T) == []


def test_journal_preflight_refuses_another_currency_than_the_base_one_and_bank_accounts():
    mapping = load_mapping(JOURNAL_MAPPING)
    (journal,) = build_journals(load_pay_run(PAY_RUN), mapping).journals
    accounts = [
        Account(f"id-{code}", code, f"Account {code}", "BANK" if code == "477" else "EXPENSE", "ACTIVE")
        for code in ("477", "478", "479", "480", "814", "825", "826")
    ]
    refused = journal_preflight_problems([journal], accounts=accounts, base_currency="USD")
    reasons = " ".join(refused[journal.key])
    assert "base currency (USD) only" in reasons
    assert 'account 477 "Account 477" is a bank account' in reasons
    assert "tracking category" in reasons  # none given: Department is unknown


def test_journal_preflight_without_tracking_categories_leaves_tracking_unchecked():
    mapping = load_mapping(JOURNAL_MAPPING)
    (journal,) = build_journals(load_pay_run(PAY_RUN), mapping).journals
    assert any(line.tracking for line in journal.lines)
    accounts = [
        Account(f"id-{code}", code, f"Account {code}", "EXPENSE", "ACTIVE")
        for code in ("477", "478", "479", "480", "814", "825", "826")
    ]
    base = journal.currency
    assert journal_preflight_problems([journal], accounts=accounts, base_currency=base) != {}
    assert (
        journal_preflight_problems([journal], accounts=accounts, base_currency=base, tracking_categories=None)
        == {}
    )
