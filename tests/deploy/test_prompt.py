"""The production prompt lists what it will apply: version, name and lint's hazards."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from testing.migration_files import ledger_rows, write_migration


class Tty(io.StringIO):
    """A stdin that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def test_the_production_prompt_lists_each_migration_and_its_hazards(
    cli,
    project: Path,
    mig: Path,
    database_url: str,
    monkeypatch,
) -> None:
    with (project / "pyproject.toml").open("a") as handle:  # the guard has its own tests
        handle.write("\n[tool.rally_gitops.backup]\nrequire_staging = false\n")
    write_migration(
        mig, "20250101_000000", "create_users", "CREATE TABLE users (id int, email text);"
    )
    write_migration(mig, "20250102_000000", "drop_email", "ALTER TABLE users DROP COLUMN email;")
    monkeypatch.setattr(sys, "stdin", Tty("no\n"))
    result = cli("deploy", "--env", "production", env={"DATABASE_PUBLIC_URL": database_url})
    assert result.code == 1
    no_rollback = (
        "      line 8: warning rollback-missing: no rollback section: a failed deploy cannot be "
        "undone with `rally-gitops rollback`"
    )
    assert result.err.splitlines() == [
        f"About to apply 2 migration(s) to production ({database_url}):",
        "  20250101_000000  create_users  (1 hazard(s) found by lint)",
        no_rollback,
        "  20250102_000000  drop_email  (2 hazard(s) found by lint)",
        "      line 6: error ban-drop-column: dropping users.email deletes its data and breaks "
        "clients still using it",
        no_rollback,
        "Type YES to continue: error: cancelled: the confirmation did not match; nothing was done",
    ]
    assert ledger_rows(database_url) == []


def test_a_migration_without_findings_says_so(
    cli,
    project: Path,
    mig: Path,
    database_url: str,
    monkeypatch,
) -> None:
    with (project / "pyproject.toml").open("a") as handle:
        handle.write("\n[tool.rally_gitops.backup]\nrequire_staging = false\n")
    write_migration(
        mig,
        "20250101_000000",
        "create_users",
        "CREATE TABLE users (id int);",
        rollback="BEGIN;\nDROP TABLE users;\nCOMMIT;",
    )
    monkeypatch.setattr(sys, "stdin", Tty("YES\n"))
    result = cli("deploy", "--env", "production", env={"DATABASE_PUBLIC_URL": database_url})
    assert result.code == 0, result.text
    assert "  20250101_000000  create_users  (no hazards found by lint)" in result.err.splitlines()
    assert ledger_rows(database_url) == [("20250101_000000", "20250101_000000_create_users")]


def test_plan_with_hazards_shows_what_the_prompt_shows(
    cli, project: Path, mig: Path, database_url: str
) -> None:
    """The deploy-production workflow's plan job: the reviewer sees no prompt, so plan says it."""
    write_migration(mig, "20250102_000000", "drop_email", "ALTER TABLE users DROP COLUMN email;")
    result = cli(
        "plan", "--env", "staging", "--hazards", env={"DATABASE_STAGING_URL": database_url}
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    hazards = lines[lines.index("Hazards lint finds in them:") + 1 :]
    assert hazards == [
        "  20250102_000000  drop_email  (2 hazard(s) found by lint)",
        "      line 6: error ban-drop-column: dropping users.email deletes its data and breaks "
        "clients still using it",
        "      line 8: warning rollback-missing: no rollback section: a failed deploy cannot be "
        "undone with `rally-gitops rollback`",
    ]
    plain = cli("plan", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert plain.out == "\n".join(lines[: lines.index("Hazards lint finds in them:")]) + "\n"
