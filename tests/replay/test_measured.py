"""``validate``'s measured findings (issue 12): rewrites and scans measured on the replay, beside
the linter's findings, in every output format, and the Markdown for the PR comment."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from rally_gitops import config as config_mod
from rally_gitops.replay.settings import assume_rows, server_bin

SEED = "20241213_000000_seed_rows.sql"
NEW = "20250101_000000_change.sql"
# users has rows (the seed), matches has none
CHANGE = (
    "ALTER TABLE users ADD COLUMN score int DEFAULT 0 CHECK (score >= 0);\n"
    "ALTER TABLE users ALTER COLUMN score TYPE bigint;\n"
    "ALTER TABLE matches ALTER COLUMN home_score TYPE bigint;\n"
    "CREATE TABLE notes (id bigint PRIMARY KEY, body text);"
)
SCAN = (
    f"migrations/{NEW}:5:1: error measured-scan read every row of public.users (an estimated "
    "65 rows) while holding ACCESS EXCLUSIVE: every read and write of it waits until the migration "
    "commits (no lint rule flagged this statement; "
)
REWRITE = (
    f"migrations/{NEW}:6:1: error measured-rewrite rewrote public.users (an estimated 65 "
    "rows) while holding ACCESS EXCLUSIVE: every read and write of it waits until the "
    "migration commits (as changing-column-type predicted; "
)
EMPTY = (
    f"migrations/{NEW}:7:1: note measured-rewrite rewrote public.matches (no rows here) while "
    "holding ACCESS EXCLUSIVE: every read and write of it waits until the migration commits "
    "(as changing-column-type predicted; "
)


def migration(name: str, body: str) -> str:
    """A migration whose first body line is line 5."""
    return f"-- Migration: {name[:-4]}\n-- Description: test\n\nBEGIN;\n{body}\nCOMMIT;\n"


def local(line: str) -> str:
    """A finding line with its path from the project root (validate prints them absolute when
    the current directory is elsewhere)."""
    return line[line.index("migrations/") :] if "migrations/" in line else line


@pytest.fixture
def replay_url(make_database, monkeypatch):
    """RALLY_REPLAY_DATABASE_URL set to a fresh database of the test server."""
    url = make_database("replay")
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", url)
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'rally\\_replay\\_run\\_%'"
        ).fetchall()
    assert names == []  # every run dropped its throwaway database


@pytest.fixture
def changed(project: Path) -> Path:
    """The sample project with two users (committed seed) and the new file ``CHANGE``."""
    seed = "INSERT INTO users (email, display_name) VALUES ('a@example.com', 'A'), ('b@x', 'B');"
    (project / "migrations" / SEED).write_text(migration(SEED, seed))
    (project / "migrations" / NEW).write_text(migration(NEW, CHANGE))
    return project


def test_rewrites_and_scans_are_measured_findings(changed: Path, cli, replay_url) -> None:
    result = cli("validate", f"migrations/{NEW}")
    assert result.code == 1, result.text
    lines = result.out.splitlines()
    findings = [local(line) for line in lines if not line.startswith("    ")]
    assert [f.split(" ms on the replay)")[0].rsplit("; ", 1)[0] + "; " for f in findings[:3]] == [
        SCAN,
        REWRITE,
        EMPTY,
    ]
    assert findings[2].endswith(
        " ms on the replay); instant on this empty table, as long as the table is big in production"
    )
    assert findings[3:] == ["1 file, 2 errors, 0 warnings, 1 note"]
    assert lines[1] == (
        "    help: add the constraint NOT VALID and VALIDATE it in a later migration (SHARE "
        "UPDATE EXCLUSIVE); for NOT NULL, first a validated CHECK (col IS NOT NULL); "
        "`rally-gitops rehearse` measures the lock on a copy of real data"
    )
    assert '[tool.rally_gitops.replay] measured_rows = "assume"' in lines[5]


def test_the_formats_carry_notes(changed: Path, cli, replay_url) -> None:
    report = json.loads(cli("validate", f"migrations/{NEW}", "--format", "json").out)
    assert (report["errors"], report["warnings"], report["notes"]) == (2, 0, 1)
    assert [(f["line"], f["severity"], f["code"]) for f in report["findings"]] == [
        (5, "error", "measured-scan"),
        (6, "error", "measured-rewrite"),
        (7, "note", "measured-rewrite"),
    ]
    github = cli("validate", f"migrations/{NEW}", "--format", "github").out.splitlines()
    github = [line.replace(str(changed) + "/", "") for line in github]
    assert [line.split("::")[1] for line in github[:3]] == [
        f"error file=migrations/{NEW},line=5,col=1,title=measured-scan",
        f"error file=migrations/{NEW},line=6,col=1,title=measured-rewrite",
        f"notice file=migrations/{NEW},line=7,col=1,title=measured-rewrite",
    ]
    sarif = json.loads(cli("validate", f"migrations/{NEW}", "--format", "sarif").out)
    run = sarif["runs"][0]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [
        ("measured-scan", "error"),
        ("measured-rewrite", "error"),
        ("measured-rewrite", "note"),
    ]
    rules = {r["id"]: r["defaultConfiguration"]["level"] for r in run["tool"]["driver"]["rules"]}
    assert (rules["measured-rewrite"], rules["measured-unconfirmed"]) == ("error", "note")


def test_assumed_rows_make_the_empty_table_an_error(changed: Path, cli, replay_url) -> None:
    pyproject = changed / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.rally_gitops.replay]\nmeasured_rows = "assume"\n'
    )
    result = cli("validate", f"migrations/{NEW}", "--format", "json")
    report = json.loads(result.out)
    assert [(f["line"], f["severity"]) for f in report["findings"]] == [
        (5, "error"),
        (6, "error"),
        (7, "error"),
    ]
    assert "notes" not in report


def test_no_measure_turns_the_measurement_off(changed: Path, cli, replay_url) -> None:
    result = cli("validate", f"migrations/{NEW}", "--no-measure")
    assert (result.code, result.out) == (0, "1 file, 0 errors, 0 warnings\n")


def test_a_lint_finding_the_measurement_refutes_gets_a_note(project: Path, cli, replay_url) -> None:
    pyproject = project / "pyproject.toml"
    # PostgreSQL 10 rewrote the table for a DEFAULT: the linter warns, the replay's server does not
    pyproject.write_text(pyproject.read_text() + "\n[tool.rally_gitops.lint]\npg_version = 10\n")
    body = "ALTER TABLE users ADD COLUMN active boolean DEFAULT true;"
    (project / "migrations" / NEW).write_text(migration(NEW, body))
    result = cli("validate", f"migrations/{NEW}")
    assert result.code == 0, result.text
    assert local(result.out.splitlines()[0]) == (
        f"migrations/{NEW}:5:1: note measured-unconfirmed measured on the replay: no rewrite "
        "and no full scan; it took ACCESS EXCLUSIVE on public.users, held until COMMIT "
        "(adding-field-with-default expected more)"
    )
    assert result.out.splitlines()[-1] == "1 file, 0 errors, 0 warnings, 1 note"


def test_the_markdown_for_the_pr_comment(changed: Path, cli, replay_url, tmp_path: Path) -> None:
    target = tmp_path / "measured.md"
    cli("validate", f"migrations/{NEW}", "--markdown", str(target))
    text = target.read_text()
    lines = text.splitlines()
    assert lines[0] == "### Measured on the replay"
    assert f"**{NEW}** (" in text
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    cells = [[c.strip() for c in row.split("|")[1:-1]] for row in rows]
    assert [(c[0], c[3], c[4], c[5], c[6]) for c in cells] == [
        ("5", "`public.users` (table)", "AccessExclusiveLock (new)", "no", "yes"),
        ("6", "`public.users` (table)", "AccessExclusiveLock", "**yes**", "yes"),
        ("7", "`public.matches` (table)", "AccessExclusiveLock (new)", "**yes**", "yes"),
        ("8", "(no lock taken, rewrite, scan or row change)", "", "", ""),
    ]
    assert lines[-1].startswith("ACCESS EXCLUSIVE held until COMMIT: `public.matches` ")


def test_the_replay_settings_are_known_keys(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.rally_gitops.replay]\nround_trip = "warn"\nmeasured_rows = "assume"\n'
    )
    config = config_mod.load(project)
    assert (server_bin(config), assume_rows(config)) == (None, True)
    pyproject.write_text(pyproject.read_text().replace('"assume"', '"guess"'))
    with pytest.raises(Exception, match='measured_rows = .guess.: expected "replay" or "assume"'):
        assume_rows(config_mod.load(project))


def test_what_the_round_trip_changed_is_no_effect_of_the_next_file(
    project: Path, replay_url
) -> None:
    from rally_gitops.files.migrations import discover
    from rally_gitops.replay.run import replay

    seed = "INSERT INTO users (email, display_name) VALUES ('a@example.com', 'A'), ('b@x', 'B');"
    (project / "migrations" / SEED).write_text(migration(SEED, seed))
    touch = "UPDATE users SET display_name = display_name;"
    first, second = "20250101_000000_touch.sql", "20250102_000000_widen.sql"
    rollback = f"\n-- Rollback script (uncomment if needed):\n-- BEGIN;\n-- {touch}\n-- COMMIT;\n"
    (project / "migrations" / first).write_text(migration(first, touch) + rollback)
    (project / "migrations" / second).write_text(
        migration(second, "ALTER TABLE users ADD COLUMN z int;")
    )
    config = config_mod.load(project)
    migrations = discover(config.migrations_dir)
    result = replay(config, migrations, [m for m in migrations if m.version >= "2025"])
    assert (result.findings, result.round_trips) == ([], 1)
    touched, widened = (m.statements[0].effects for m in result.measures)
    assert [(e.relation, e.lock, e.newly, e.rewrite, e.scan, e.updated) for e in touched] == [
        ("public.users", "RowExclusiveLock", True, False, True, 2),
        ("public.users_email_key", "RowExclusiveLock", True, False, False, 0),
        ("public.users_pkey", "RowExclusiveLock", True, False, False, 0),
        ("public.users_team_id_idx", "RowExclusiveLock", True, False, False, 0),
    ]
    # the round trip scanned and updated users twice more (rolled back): not the next file's
    assert [(e.relation, e.lock, e.newly, e.rewrite, e.scan, e.updated) for e in widened] == [
        ("public.users", "AccessExclusiveLock", True, False, False, 0),
    ]


def test_the_lint_configuration_and_ignores_apply(changed: Path, cli, replay_url) -> None:
    body = "-- rally:ignore measured-scan -- two seeded rows: instant\n" + CHANGE
    (changed / "migrations" / NEW).write_text(migration(NEW, body))
    pyproject = changed / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.rally_gitops.lint]\nseverity = { measured-rewrite = "warning" }\n'
    )
    report = json.loads(cli("validate", f"migrations/{NEW}", "--format", "json").out)
    assert [(f["line"], f["severity"], f["code"]) for f in report["findings"]] == [
        (7, "warning", "measured-rewrite"),
        (8, "note", "measured-rewrite"),
    ]
    # the linter knows the code: no unknown or unused ignore
    linted = cli("lint", "--no-history", str(changed / "migrations" / NEW), "--format", "json")
    assert linted.code == 1, linted.text
    assert [f["code"] for f in json.loads(linted.out)["findings"]] == [
        "changing-column-type",
        "changing-column-type",
        "rollback-missing",
    ]


def test_a_rollback_section_that_drops_prepared_statements_makes_them_prepared_again(
    project: Path, replay_url
) -> None:
    from rally_gitops.files.migrations import discover
    from rally_gitops.replay.run import replay

    first, second = "20250101_000000_tmp.sql", "20250102_000000_more.sql"
    rollback = (
        "\n-- Rollback script (uncomment if needed):\n-- DEALLOCATE ALL;\n-- DROP TABLE tmp;\n"
    )
    (project / "migrations" / first).write_text(
        migration(first, "CREATE TABLE tmp (id int);") + rollback
    )
    (project / "migrations" / second).write_text(migration(second, "CREATE TABLE more (id int);"))
    config = config_mod.load(project)
    migrations = discover(config.migrations_dir)
    result = replay(config, migrations, [m for m in migrations if m.version >= "2025"])
    assert (result.findings, result.round_trips) == ([], 1)
    # prepared again before the second file: its statement skipped in the simple-query string
    # (not sent again statement by statement for a lost prepared query, every statement probed)
    assert [[s.probed for s in m.statements] for m in result.measures] == [[False], [False]]
