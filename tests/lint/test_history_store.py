"""The hook's path through the history (one new file, the fold kept in .rally/lint-history.json)
must give the findings that linting every file gives: cold, warm, and after an earlier file was
edited in place (the stored fold is then stale and must not be used)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpus import generate_prisma, rally_text
from rally_gitops.config import load
from rally_gitops.lint import schema_history
from rally_gitops.lint.checker import Checker
from rally_gitops.lint.model import Finding
from testing.lint_support import good, project

INVOICE = (
    'CREATE TABLE "Invoice" ("id" TEXT NOT NULL, "amount" INTEGER NOT NULL, "note" VARCHAR(50), '
    'CONSTRAINT "Invoice_pkey" PRIMARY KEY ("id"));\n'
    'CREATE TABLE "Line" ("id" TEXT NOT NULL, "invoiceId" TEXT NOT NULL, '
    'CONSTRAINT "Line_invoiceId_fkey" FOREIGN KEY ("invoiceId") REFERENCES "Invoice" ("id"));'
)
NEW = (
    'ALTER TABLE "Invoice" ALTER COLUMN "amount" SET DATA TYPE TEXT;\n'
    'ALTER TABLE "Invoice" ALTER COLUMN "note" SET DATA TYPE TEXT;\n'
    'ALTER TABLE "Invoice" DROP CONSTRAINT "Invoice_pkey" CASCADE;'
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = project(tmp_path / "proj")
    for migration in generate_prisma(60, seed=11):
        (root / "migrations" / f"{migration.name}.sql").write_text(rally_text(migration))
    earlier = "20240101_000000_invoice"
    (root / "migrations" / f"{earlier}.sql").write_text(good(earlier, INVOICE))
    new = "20240102_000000_retype"
    (root / "migrations" / f"{new}.sql").write_text(good(new, NEW))
    return root


def lint(root: Path, *names: str) -> list[Finding]:
    paths = [root / "migrations" / n for n in names] or sorted((root / "migrations").glob("*.sql"))
    return Checker(load(root)).check(paths)


def about_new(findings: list[Finding]) -> list[tuple[int, str, str, str]]:
    mine = [f for f in findings if f.path.endswith("20240102_000000_retype.sql")]
    return [(f.line, f.severity, f.code, f.message) for f in mine]


def test_hook_path_gives_the_findings_of_the_whole_lint(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = root / ".rally" / "lint-history.json"
    new = "20240102_000000_retype.sql"
    everything = about_new(lint(root))
    codes = [(line, code) for line, _, code, _ in everything]
    assert codes == [(4, "changing-column-type"), (6, "ban-drop-constraint")]
    assert "integer to text is not binary-coercible" in everything[0][3]
    assert everything[1][3].startswith('dropping primary key "Invoice_pkey" from "Invoice"')
    assert '"Line_invoiceId_fkey"' in everything[1][3]
    store.unlink()
    monkeypatch.setattr(schema_history, "_NODES", {})  # a new process
    assert about_new(lint(root, new)) == everything  # cold: folds the files, writes the store
    assert store.is_file()

    def no_parse(*_: object) -> list[object]:
        raise AssertionError("the stored history was not used")

    with monkeypatch.context() as patched:
        patched.setattr(schema_history, "_NODES", {})
        patched.setattr(schema_history, "_shaping_nodes", no_parse)
        assert about_new(lint(root, new)) == everything  # warm: the store alone answers


def test_an_earlier_file_edited_in_place_is_folded_again(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = "20240102_000000_retype.sql"
    before = about_new(lint(root, new))
    assert [code for _, _, code, _ in before] == ["changing-column-type", "ban-drop-constraint"]
    earlier = root / "migrations" / "20240101_000000_invoice.sql"
    # same size, another type: varchar(9) to text is binary-coercible, so no type finding
    earlier.write_text(earlier.read_text().replace('"amount" INTEGER', '"amount" CHAR(9)'))
    monkeypatch.setattr(schema_history, "_NODES", {})
    after = about_new(lint(root, new))
    assert [code for _, _, code, _ in after] == ["changing-column-type", "ban-drop-constraint"]
    assert "char(9) to text is not binary-coercible" in after[0][3]
    assert about_new(lint(root)) == after


EARLIER = {
    # nodes a whole parse keeps and a statement-by-statement read skips (no TABLE/SET spelled)
    "20240101_000000_teams": (
        'CREATE TABLE "Team" (id bigint PRIMARY KEY, name varchar(20));\n'
        'CREATE INDEX team_name ON "Team" (name);\n'
        "ALTER INDEX team_name RENAME TO team_name_idx;\n"
        "DROP INDEX team_name_idx;\n"
        "SET search_path = audit;\n"
        "CREATE TABLE log (id int);"
    ),
    # COPY rows do not parse as SQL: read statement by statement
    "20240102_000000_seed": (
        'COPY "Team" (id, name) FROM stdin;\n1\tred\n\\.\nALTER TABLE "Team" ADD COLUMN x text;'
    ),
    # a syntax error: the statements that parse still count
    "20240103_000000_broken": 'ALTER TABLE "Team" ADD COLUMN y int;\nSELEC 1;',
}


def test_an_earlier_file_is_parsed_whole_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj")
    for name, body in EARLIER.items():
        (root / "migrations" / f"{name}.sql").write_text(good(name, body))
    parsed: list[str] = []
    real = schema_history.parse_sql

    def counted(sql: str) -> tuple[object, ...]:
        parsed.append(sql)
        return real(sql)

    monkeypatch.setattr(schema_history, "parse_sql", counted)
    catalog = schema_history.history(root / "migrations", "20240104_000000_new.sql")
    # the first file in one parse (not its three statements spelling TABLE or SET one by one),
    # the COPY file's ALTER TABLE alone, the broken file whole and then its ALTER TABLE
    assert len(parsed) == 4
    assert parsed[1] == 'ALTER TABLE "Team" ADD COLUMN x text'
    assert parsed[3] == 'ALTER TABLE "Team" ADD COLUMN y int'
    assert schema_history.to_json(catalog) == [
        [
            "public",
            "Team",
            True,
            [
                ["id", "int8", [], False],
                ["name", "varchar", [20], False],
                ["x", "text", [], False],
                ["y", "int4", [], False],
            ],
            [["Team_pkey", "primary key", None, None, True]],
        ],
        ["audit", "log", True, [["id", "int4", [], False]], []],
    ]
