#!/usr/bin/env python3
"""Static checks of an Odoo 18.0 / 19.0 addon that catch what would break an install.

Run without Odoo: the manifest is sound, names files that exist and has a series-free version (one tree
installs on both series), every XML file parses and uses no pre-17 view syntax nor a field that exists on
one series only, the Python uses no API of one series only outside models/compat.py, every model has an
access row, and OCA's pylint-odoo finds nothing.

Usage: check_addon.py addons/hr_payroll_xero
"""

from __future__ import annotations

import ast
import csv
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

REQUIRED_MANIFEST_KEYS = ("name", "version", "license", "depends", "data")
SERIES = ("18.0", "19.0")
# We are not an OCA repository: its author rule does not apply. The version is series-free on purpose (OCA's
# rule wants one series prefix; Odoo reads x.y.z as <series>.x.y.z on each series).
PYLINT_DISABLED = ("manifest-required-author", "manifest-version-format")
# Fields that exist on one series only, by model: XML data naming them fails to load on the other series.
ONE_SERIES_FIELDS = {
    "res.groups": {"category_id": "19.0 has privilege_id", "users": "19.0 has user_ids / all_user_ids"},
    "ir.actions.server": {"groups_id": "19.0 has group_ids"},
    "ir.actions.act_window": {"groups_id": "19.0 has group_ids"},
    "ir.ui.menu": {"groups_id": "19.0 has group_ids"},
}
ONE_SERIES_MODELS = {"hr.contract": "19.0 has none: contracts are hr.version"}
# Python API of one series only: (text, why); models/compat.py is the one place allowed to use them.
ONE_SERIES_PYTHON = (
    ("_sql_constraints", "ignored by 19.0: declare them with compat.sql_constraints"),
    ('"hr.contract"', "gone in 19.0: use the compat contract helpers"),
    (".users.", "res.groups.users is gone in 19.0: use compat.group_users"),
    ("enter_test_mode(", "gone in 19.0: use compat.enter_registry_test_mode"),
    ("contract_ids", "gone from hr.employee in 19.0: use the compat contract helpers"),
)


def check_manifest(addon: Path) -> list[str]:
    errors = []
    manifest = ast.literal_eval((addon / "__manifest__.py").read_text())
    for key in REQUIRED_MANIFEST_KEYS:
        if key not in manifest:
            errors.append(f"__manifest__.py: missing key {key!r}")
    version = str(manifest.get("version", ""))
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        errors.append(
            f"__manifest__.py: version {version!r} is not x.y.z: a series prefix makes the other series of "
            f"{', '.join(SERIES)} refuse the module"
        )
    for key in ("data", "demo"):
        for name in manifest.get(key, []):
            if not (addon / name).is_file():
                errors.append(f"__manifest__.py: {key} file {name} does not exist")
    return errors


def check_xml(addon: Path) -> list[str]:
    errors = []
    for path in sorted(addon.rglob("*.xml")):
        rel = path.relative_to(addon)
        try:
            tree = ET.parse(path)  # noqa: S314 - the addon's own files
        except ET.ParseError as exc:
            errors.append(f"{rel}: does not parse: {exc}")
            continue
        for element in tree.iter():
            model = element.get("model")
            if element.tag == "record" and model in ONE_SERIES_MODELS:
                errors.append(f"{rel}: a {model} record: {ONE_SERIES_MODELS[model]}")
            if element.tag == "record" and model in ONE_SERIES_FIELDS:
                for field in element.iter("field"):
                    why = ONE_SERIES_FIELDS[model].get(field.get("name"))
                    if why:
                        errors.append(
                            f"{rel}: {model} field {field.get('name')} exists on one series only ({why})"
                        )
            if element.tag == "tree":
                errors.append(f"{rel}: <tree> is gone in Odoo 18, use <list>")
            for attr in ("attrs", "states"):
                if attr in element.attrib:
                    errors.append(f"{rel}: {attr}= on <{element.tag}> is gone in Odoo 18; use expressions")
    return errors


STRIP = '.("'


def check_series_python(addon: Path) -> list[str]:
    errors = []
    for path in sorted(addon.rglob("*.py")):
        rel = path.relative_to(addon)
        if rel == Path("models/compat.py") or "migrations" in rel.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for text, why in ONE_SERIES_PYTHON:
                if text in line.split("#")[0]:
                    errors.append(f"{rel}:{number}: {text.strip(STRIP)} {why}")
    return errors


def _models(addon: Path) -> dict[str, str]:
    """Models the addon defines (``_name`` set to something it does not only inherit): name -> file."""
    models = {}
    for path in sorted(addon.rglob("*.py")):
        if "tests" in path.parts:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            attrs = {}
            for stmt in node.body:
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
                if isinstance(target, ast.Name):
                    try:
                        attrs[target.id] = ast.literal_eval(stmt.value)
                    except ValueError:
                        continue
            name = attrs.get("_name")
            inherit = attrs.get("_inherit")
            inherits = [inherit] if isinstance(inherit, str) else list(inherit or [])
            is_abstract = any(
                isinstance(base, ast.Attribute) and base.attr == "AbstractModel" for base in node.bases
            )
            if isinstance(name, str) and name not in inherits and not is_abstract:
                models[name] = str(path.relative_to(addon))
    return models


def check_access(addon: Path) -> list[str]:
    csv_path = addon / "security" / "ir.model.access.csv"
    if not csv_path.is_file():
        return ["security/ir.model.access.csv is missing"]
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    covered = {row["model_id:id"].split(".")[-1] for row in rows}
    errors = []
    for name, where in _models(addon).items():
        xmlid = "model_" + name.replace(".", "_")
        if xmlid not in covered:
            errors.append(f"{where}: model {name} has no row in security/ir.model.access.csv")
    return errors


def run_pylint_odoo(addon: Path) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "pylint",
        "--load-plugins=pylint_odoo",
        "--disable=all",
        "--enable=odoolint",
        "--disable=" + ",".join(PYLINT_DISABLED),
        "--valid-odoo-versions=" + ",".join(SERIES),
        "--score=n",
        str(addon),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        return [f"pylint-odoo:\n{proc.stdout}{proc.stderr}"]
    return []


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    addon = Path(argv[1])
    if not (addon / "__manifest__.py").is_file():
        print(f"{addon}: not an addon (no __manifest__.py)", file=sys.stderr)
        return 2
    errors = (
        check_manifest(addon)
        + check_xml(addon)
        + check_series_python(addon)
        + check_access(addon)
        + run_pylint_odoo(addon)
    )
    for error in errors:
        print(f"{addon.name}: {error}")
    print(f"addon static checks: {len(errors)} problem(s) in {addon}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
