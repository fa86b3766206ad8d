"""A Prisma-shaped history (bench/corpus.py's generate_prisma) through the whole linter.

The shapes of three real Prisma histories (issue 8): quoted "CamelCase" names, "_new"/"_old"
enum swaps, SET DATA TYPE, CONCURRENTLY in no-transaction files, foreign keys added after the
tables. No crash, no false grammar error, no finding on the enum swaps' renames and drops, and
each finding on the statement that deserves it.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bench.corpus import generate_prisma, rally_text
from rally_gitops.config import load
from rally_gitops.lint.checker import Checker
from rally_gitops.lint.model import Finding
from testing.lint_support import project

COUNT = 120


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Finding]]:
    root = project(tmp_path_factory.mktemp("prisma") / "proj")
    for migration in generate_prisma(COUNT, seed=7):
        (root / "migrations" / f"{migration.name}.sql").write_text(rally_text(migration))
    paths = sorted((root / "migrations").glob("*.sql"))
    return root, Checker(load(root)).check(paths)


def test_no_crash_no_grammar_error_no_swap_noise(linted: tuple[Path, list[Finding]]) -> None:
    _, findings = linted
    codes = Counter(f.code for f in findings)
    for code in ("internal-error", "syntax-error", "transaction-unbalanced"):
        assert codes[code] == 0, code
    # the enum swaps: their renames and drops stay inside the file, their defaults come back
    assert codes["renaming-object"] == 0 and codes["ban-drop-type"] == 0
    assert codes["ban-drop-default"] == 0


def test_findings_sit_on_the_statements_that_deserve_them(
    linted: tuple[Path, list[Finding]],
) -> None:
    _, findings = linted
    assert findings
    for finding in findings:
        line = Path(finding.path).read_text().split("\n")[finding.line - 1]
        expected = {
            "require-concurrent-index": r'^CREATE (UNIQUE )?INDEX "',
            "require-not-valid-foreign-key": r'^ALTER TABLE "\w+" ADD CONSTRAINT "\w+_fkey" ',
            "adding-required-field": r'^ALTER TABLE "\w+" ADD COLUMN "required\d+" TEXT NOT NULL',
            "ban-drop-column": r'^ALTER TABLE "\w+" DROP COLUMN "',
            "ban-drop-constraint": r'^ALTER TABLE "\w+" DROP CONSTRAINT "\w+_(fkey|pkey)"',
            "adding-primary-key-constraint": r'^ADD CONSTRAINT "\w+_pkey" PRIMARY KEY',
            "changing-column-type": r'^ALTER TABLE "\w+" ALTER COLUMN "\w+" (SET DATA )?TYPE ',
        }.get(finding.code)
        assert expected is not None, f"unexpected {finding.code}: {finding.message}"
        assert re.match(expected, line), (finding.code, line)
        assert '"' in finding.message  # names printed as written: "Team", not team


def test_type_changes_decided_from_the_history(linted: tuple[Path, list[Finding]]) -> None:
    _, findings = linted
    retypes = [f for f in findings if f.code == "changing-column-type"]
    reasons = Counter(f.message.rpartition("(")[2].rstrip(")") for f in retypes)
    # varchar(191) → text is binary-coercible: never flagged; the enum swaps' USING always is
    assert not any("varchar(191) to text" in reason for reason in reasons)
    assert reasons["USING recomputes every row"] >= 1
    assert all("is not binary-coercible" in r or r.startswith("USING") for r in reasons)
    assert not [f for f in findings if f.code == "changing-column-type-widening"]
    # primary keys dropped and re-added in one ALTER are errors, foreign keys dropped warnings
    drops = [f for f in findings if f.code == "ban-drop-constraint"]
    assert {f.severity for f in drops if "_pkey" in f.message} <= {"error"}
    assert {f.severity for f in drops if "_fkey" in f.message} <= {"warning"}
