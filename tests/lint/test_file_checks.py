"""Layer 1: every bad-input case of a migration file, and clean files staying clean."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rally_gitops.config import load
from rally_gitops.lint import file_checks
from rally_gitops.lint.checker import Checker
from testing.lint_support import NAME, codes, good, lint, lint_text, project, write

REPO = Path(__file__).resolve().parents[2]


def test_sample_migrations_are_clean() -> None:
    config = load(REPO)
    paths = sorted((REPO / "migrations").glob("*.sql"))
    assert len(paths) >= 6
    assert Checker(config).check(paths) == []


def test_good_file_has_no_finding(tmp_path: Path) -> None:
    assert lint_text(tmp_path, good()) == []


@pytest.mark.parametrize(
    "name",
    ["add_things.sql", "2025_add.sql", "20250101_120000_Add-Things.sql", "20250101_120000_x.txt"],
)
def test_bad_file_name(tmp_path: Path, name: str) -> None:
    findings = lint_text(tmp_path, good(), name=name)
    assert "file-name" in codes(findings)
    assert name in findings[0].message or any(name in f.message for f in findings)


def test_badly_named_file_still_gets_its_content_checked(tmp_path: Path) -> None:
    findings = lint_text(tmp_path, good(body="DROP TABLEE x;"), name="oops.sql")
    assert {"file-name", "syntax-error"} <= set(codes(findings))


def test_empty_and_blank_files(tmp_path: Path) -> None:
    assert codes(lint_text(tmp_path / "a", b"")) == ["file-empty"]
    assert codes(lint_text(tmp_path / "b", b"  \n\n\t\n")) == ["file-empty"]


def test_only_comments_or_only_begin_commit_does_nothing(tmp_path: Path) -> None:
    text = f"-- Migration: {NAME}\n-- Description: d\nBEGIN;\nCOMMIT;\n-- Rollback\n-- SELECT 1;\n"
    assert "file-empty" in codes(lint_text(tmp_path / "a", text))
    comments = f"-- Migration: {NAME}\n-- Description: d\n-- CREATE TABLE x (id int);\n"
    assert "file-empty" in codes(lint_text(tmp_path / "b", comments))


def test_not_utf8_reports_line_and_column(tmp_path: Path) -> None:
    data = good().encode().replace(b"things (id", b"th\xe9ngs (id")
    [finding] = lint_text(tmp_path, data)
    assert finding.code == "file-encoding"
    assert (finding.line, finding.column) == (4, 16)
    assert "0xe9" in finding.message


def test_nul_byte(tmp_path: Path) -> None:
    [finding] = lint_text(tmp_path, good().encode() + b"\x00\x00")
    assert finding.code == "file-encoding"
    assert "NUL" in finding.message


def test_bom_and_crlf_are_fine(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + good().replace("\n", "\r\n").encode()
    assert lint_text(tmp_path, data) == []


def test_oversize_default_and_configured(tmp_path: Path) -> None:
    big = good(body="CREATE TABLE things (id bigint PRIMARY KEY);\n" + "-- pad\n" * 200)
    assert lint_text(tmp_path / "a", big) == []
    findings = lint_text(tmp_path / "b", big, settings="max_file_bytes = 1000")
    assert codes(findings) == ["file-too-large"]
    assert "1,000-byte limit" in findings[0].message
    huge = b"-- x\n" * (16 * 1024 * 1024 // 5 + 1)  # over the 16 MiB default
    assert codes(lint_text(tmp_path / "c", huge)) == ["file-too-large"]


def test_header_migration_missing_or_wrong(tmp_path: Path) -> None:
    missing = good().replace(f"-- Migration: {NAME}\n", "")
    assert codes(lint_text(tmp_path / "a", missing)) == ["header-migration"]
    wrong = good(name="20240101_000000_other")
    [finding] = lint_text(tmp_path / "b", wrong)
    assert finding.code == "header-migration"
    assert "20240101_000000_other" in finding.message and finding.line == 1


def test_header_description_missing_or_empty(tmp_path: Path) -> None:
    missing = good().replace("-- Description: Add things\n", "")
    assert codes(lint_text(tmp_path / "a", missing)) == ["header-description"]
    empty = good().replace("-- Description: Add things", "-- Description:   ")
    [finding] = lint_text(tmp_path / "b", empty)
    assert (finding.code, finding.line) == ("header-description", 2)


def test_begin_without_commit(tmp_path: Path) -> None:
    text = good().replace("COMMIT;\n-- Rollback", "-- Rollback")
    [finding] = lint_text(tmp_path, text)
    assert (finding.code, finding.line) == ("transaction-unbalanced", 3)
    assert "BEGIN without COMMIT" in finding.message


def test_commit_without_begin(tmp_path: Path) -> None:
    [finding] = lint_text(tmp_path, good().replace("BEGIN;\nCREATE", "CREATE"))
    assert finding.code == "transaction-unbalanced"
    assert "COMMIT without BEGIN" in finding.message


def test_nested_and_middle_transaction_control(tmp_path: Path) -> None:
    body = "CREATE TABLE a (id int);\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;"
    findings = lint_text(tmp_path / "a", good(body=body))
    assert codes(findings) == ["transaction-unbalanced", "transaction-unbalanced"]
    assert [f.line for f in findings] == [5, 7]
    rollback = lint_text(tmp_path / "b", good(body="CREATE TABLE a (id int);\nROLLBACK;"))
    assert codes(rollback) == ["transaction-unbalanced"]
    assert "ROLLBACK in the middle" in rollback[0].message


def test_no_transaction_file_with_begin(tmp_path: Path) -> None:
    text = good().replace(
        "-- Description: Add things\n", "-- Description: x\n-- rally:no-transaction\n"
    )
    findings = lint_text(tmp_path, text)
    assert codes(findings) == ["no-transaction-begin", "no-transaction-begin"]


def test_no_transaction_file_without_begin_is_clean(tmp_path: Path) -> None:
    text = (
        f"-- Migration: {NAME}\n-- Description: idx\n-- rally:no-transaction\n\n"
        "CREATE INDEX CONCURRENTLY things_idx ON things (id);\n\n"
        "-- Rollback script (uncomment if needed):\n-- DROP INDEX CONCURRENTLY things_idx;\n"
    )
    assert lint_text(tmp_path, text) == []


def test_no_begin_commit_at_all_is_a_warning(tmp_path: Path) -> None:
    text = good().replace("BEGIN;\n", "", 1).replace("COMMIT;\n-- Rollback", "-- Rollback")
    [finding] = lint_text(tmp_path, text)
    assert (finding.code, finding.severity) == ("transaction-missing", "warning")


def test_missing_rollback_is_a_warning(tmp_path: Path) -> None:
    text = good().split("-- Rollback")[0]
    [finding] = lint_text(tmp_path, text)
    assert (finding.code, finding.severity) == ("rollback-missing", "warning")


def test_live_sql_after_the_up_part(tmp_path: Path) -> None:
    text = good() + "DROP TABLE things;\n"
    [finding] = lint_text(tmp_path, text)
    assert (finding.code, finding.line) == ("live-sql-after-up", 10)
    assert "psql" in finding.message


def test_duplicate_versions_among_files_and_directory(tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    first = write(root, good())
    second = write(root, good(name="20250101_120000_other"), "20250101_120000_other.sql")
    findings = lint(root, [first])
    assert codes(findings) == ["duplicate-version"]
    assert "20250101_120000_other.sql" in findings[0].message
    assert codes(lint(root, [first, second])) == ["duplicate-version", "duplicate-version"]


def test_duplicate_versions_resolve_nothing_without_a_shared_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pre-commit run --all-files: the files as given (relative) are the directory's (absolute)
    # again; resolving each of them (a realpath per file, lstat per component) tells nothing
    root = project(tmp_path / "proj")
    names = [f"2025010{day}_120000_t{day}.sql" for day in (1, 2, 3)]
    for name in names:
        write(root, good(name=name[:-4]), name)
    twin = write(root, good(name="20250103_120000_twin"), "20250103_120000_twin.sql")
    monkeypatch.chdir(root)
    calls: list[Path] = []
    real = file_checks.resolved
    monkeypatch.setattr(file_checks, "resolved", lambda p: calls.append(p) or real(p))
    relative = [Path("migrations") / name for name in names[:2]]
    assert (
        file_checks.duplicate_versions(
            relative, file_checks.siblings(root / "migrations", relative)
        )
        == []
    )
    assert calls == []
    [found] = file_checks.duplicate_versions([Path("migrations") / names[2]], [twin])
    assert (found.code, found.path) == ("duplicate-version", f"migrations/{names[2]}")
    assert "20250103_120000_twin.sql" in found.message
    assert len(calls) == 3  # the twins of the one shared version, and the file itself


def test_lint_all_makes_no_path_absolute_for_the_duplicate_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lint --all gives the directory's own absolute listing: every sibling is one of the files
    root = project(tmp_path / "proj")
    for day in (1, 2, 3):
        write(root, good(name=f"2025010{day}_120000_t{day}"), f"2025010{day}_120000_t{day}.sql")
    twin = write(root, good(name="20250103_120000_twin"), "20250103_120000_twin.sql")
    listing = sorted((root / "migrations").glob("*.sql"), key=lambda p: p.name)
    assert file_checks.siblings(root / "migrations", listing) == []
    made: list[str] = []
    real = os.path.abspath
    monkeypatch.setattr(
        file_checks.os.path, "abspath", lambda p: made.append(os.fspath(p)) or real(p)
    )
    found = file_checks.duplicate_versions(listing, [])
    assert sorted(f.path for f in found) == [str(listing[2]), str(twin)]
    # only the shared version's paths (each made absolute, then resolved)
    assert {Path(m).name for m in made} == {listing[2].name, twin.name}


def test_unreadable_file(tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    target = root / "migrations" / (NAME + ".sql")
    target.symlink_to(root / "does-not-exist.sql")
    loop = root / "migrations" / "20250101_130000_loop.sql"
    loop.symlink_to(loop)
    findings = lint(root, [target, loop])
    assert codes(findings) == ["file-unreadable", "file-unreadable"]
    assert "No such file" in findings[0].message


def test_shown_paths_are_relpaths_made_cheaply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every finding carries its file's shown path, and lint --all gives absolute paths: relpath
    # asks for the current directory twice per file
    from rally_gitops.lint.checker import _shown

    here = tmp_path / "proj"
    here.mkdir()
    monkeypatch.chdir(here)
    cases = [
        here / "migrations" / "a.sql",
        Path(f"{here}/../proj/migrations/a.sql"),
        tmp_path / "other" / "a.sql",
        Path(f"{here}x") / "a.sql",
        Path("migrations/a.sql"),
        Path("./migrations/../migrations/a.sql"),
        Path("../a.sql"),
        here,
    ]
    expected = [
        str(p) if os.path.relpath(p).startswith("..") else os.path.relpath(p) for p in cases
    ]
    real = os.getcwd
    calls: list[int] = []
    monkeypatch.setattr(os, "getcwd", lambda: calls.append(1) or real())
    assert [_shown(p) for p in cases] == expected
    assert expected[:2] == ["migrations/a.sql", "migrations/a.sql"]
    calls.clear()
    _shown(here / "migrations" / "a.sql")
    assert len(calls) == 1


def test_each_file_is_stat_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # read() stats the file for its size, and the history layer keys the file's parsed
    # statements by that same stat (a system call per file and per lint --all worker)
    root = project(tmp_path / "proj")
    path = write(root, good(body="CREATE INDEX i ON users (email);"))
    stats: list[str] = []
    real = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: stats.append(str(p)) or real(p, *a, **k))
    assert codes(lint(root, [path], rules=None)) == ["require-concurrent-index"]
    assert stats.count(str(path)) == 1
