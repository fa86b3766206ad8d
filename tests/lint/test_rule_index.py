"""The rule index (``rally_gitops.lint.rules.INDEX``): what the checker knows of each rule before
importing its module, and the statement kinds that decide whether a rule runs on a file.

The index must say what the modules say; a rule must never be skipped on a file where it has
something to report (every rule case, run through the checker with and without the index); and
a file only imports the rule modules its statements can need.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pglast import ast
from pglast.enums import AlterTableType

from rally_gitops.lint import rules
from rally_gitops.lint.checker import statement_kinds
from rally_gitops.lint.model import Finding
from rally_gitops.lint.parsing import analyse, drop_nodes, table_nodes
from rally_gitops.lint.rules import INDEX, load_all
from testing.lint_support import lint_text
from testing.rule_cases import FLAG, NO_TX, OK, write_migration

RULES = load_all()
RULES_DIR = Path(rules.__file__).parent


def test_the_index_says_what_the_modules_say() -> None:
    assert [(e.code, e.severity, e.enabled, e.summary) for e in INDEX] == [
        (r.code, r.severity, r.enabled, r.summary) for r in RULES
    ]
    modules = {p.stem for p in RULES_DIR.glob("*.py") if p.name != "__init__.py"}
    assert sorted(e.module.rsplit(".", 1)[1] for e in INDEX) == sorted(modules)
    assert len({e.code for e in INDEX}) == len(INDEX) == 52


def test_kinds_are_pglast_statement_nodes() -> None:
    assert set(rules.DROPS) == {node.__name__ for node in drop_nodes()}
    assert set(rules.TABLES) == {node.__name__ for node in table_nodes()}
    for entry in INDEX:
        for kind in entry.kinds or ():
            name, _, subtype = kind.partition(".")
            node = getattr(ast, name, None)
            assert isinstance(node, type) and issubclass(node, ast.Node), (entry.code, kind)
            assert not subtype or (name, subtype in AlterTableType.__members__) == (
                "AlterTableStmt",
                True,
            ), (entry.code, kind)
    anywhere = {e.code for e in INDEX if e.kinds is None}
    assert anywhere == {"identifier-too-long", "ban-advisory-unlock", "ban-ledger-schema"}


@pytest.mark.parametrize(("code", "body"), [(c, b) for c, b, _ in FLAG], ids=str)
def test_every_flagged_case_has_a_statement_of_the_rules_kinds(
    tmp_path: Path, code: str, body: str
) -> None:
    [entry] = [e for e in INDEX if e.code == code]
    kinds = statement_kinds(analyse(write_migration(tmp_path, body)))
    assert entry.kinds is None or "NoneType" in kinds or kinds & set(entry.kinds), kinds


def test_the_checker_finds_with_the_index_what_every_rule_everywhere_finds(
    tmp_path: Path,
) -> None:
    # rules given to the checker run on every file; those of the index only where their kinds are
    cases = [(c, b) for c, b, _ in FLAG] + list(OK)
    flagged = 0
    for number, (code, body) in enumerate(cases):
        text = _file(body)
        settings = 'enable = ["all"]'
        indexed = lint_text(tmp_path / f"i{number}", text, name="20250101_120000_t.sql",
                            settings=settings, rules=None)  # fmt: skip
        everywhere = lint_text(tmp_path / f"e{number}", text, name="20250101_120000_t.sql",
                               settings=settings, rules=RULES)  # fmt: skip
        assert _unplaced(indexed) == _unplaced(everywhere), (code, body)
        flagged += number < len(FLAG) and any(f.code == code for f in indexed)
    assert flagged == len(FLAG)  # each case's own rule fires through the checker too


def _file(body: str) -> str:
    """A migration file around ``body``, as ``testing.rule_cases.write_migration`` writes it."""
    up = body if body.startswith(NO_TX) else f"BEGIN;\n{body}\nCOMMIT;"
    return f"-- Migration: 20250101_120000_t\n-- Description: case\n{up}\n"


def _unplaced(findings: list[Finding]) -> list[tuple[object, ...]]:
    return [(f.line, f.column, f.severity, f.code, f.message, f.help) for f in findings]


def _imported_rules(tmp_path: Path, body: str) -> list[str]:
    """The rule modules a fresh process imports to lint one file holding ``body``."""
    text = _file(body)
    root = tmp_path / "proj"
    (root / "migrations").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    (root / "migrations" / "20250101_120000_t.sql").write_text(text)
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from rally_gitops.config import load\n"
        "from rally_gitops.lint.checker import Checker\n"
        "Checker(load()).check([Path('migrations/20250101_120000_t.sql')])\n"
        "print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules\n"
        "                        if m.startswith('rally_gitops.lint.rules.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    imported: list[str] = json.loads(done.stdout)
    return imported


def test_a_file_imports_only_the_rules_its_statements_can_need(tmp_path: Path) -> None:
    # BEGIN/COMMIT are TransactionStmt, the table a CreateStmt: nothing about drops or indexes
    imported = _imported_rules(tmp_path, "CREATE TABLE things (id bigint PRIMARY KEY);")
    assert imported == [
        "ban_advisory_unlock",
        "ban_drop_column",
        "ban_ledger_schema",
        "ban_prepared_transaction",
        "identifier_too_long",
        "prefer_jsonb",
    ]


def test_an_alter_table_imports_the_rules_of_its_subcommands(tmp_path: Path) -> None:
    # a type change: no rule about added columns, constraints, defaults or NOT NULL
    imported = _imported_rules(tmp_path, "ALTER TABLE users ALTER COLUMN name SET DATA TYPE text;")
    assert imported == [
        "ban_advisory_unlock",
        "ban_drop_column",
        "ban_ledger_schema",
        "ban_prepared_transaction",
        "changing_column_type",
        "changing_column_type_widening",
        "identifier_too_long",
        "prefer_jsonb",
    ]
