"""``status`` with bad migration files: every environment is still shown, the bad files are
named, and ``deploy`` still refuses (issue 14, point 16)."""

from __future__ import annotations

import json
from pathlib import Path

from rally_gitops.files.migrations import MAX_FILE_BYTES


def spoil(project: Path) -> list[str]:
    """A non-UTF-8 file, an oversize file and a second file of an existing version."""
    migrations = project / "migrations"
    (migrations / "20300101_000000_latin1.sql").write_bytes(b"-- caf\xe9\nSELECT 1;\n")
    (migrations / "20300102_000000_huge.sql").write_bytes(b"-" * (MAX_FILE_BYTES + 1))
    first = sorted(migrations.glob("*.sql"))[0]
    twin = migrations / f"{first.name[:15]}_twin.sql"
    twin.write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    return [
        f"bad file: {migrations}/20300101_000000_latin1.sql:1: not UTF-8 (byte 0xe9 at offset 6)",
        f"bad file: {migrations}/20300102_000000_huge.sql: {MAX_FILE_BYTES + 1:,} bytes is over "
        f"the {MAX_FILE_BYTES:,}-byte limit for a migration",
        f"bad file: {twin}: version {first.name[:15]} is also used by {first.name}",
    ]


def test_status_shows_every_environment_despite_bad_files(
    cli, project: Path, make_database
) -> None:
    env = {"DATABASE_URL": make_database(), "DATABASE_STAGING_URL": make_database()}
    assert cli("deploy", "--env", "local", env=env).code == 0
    lines = spoil(project)

    result = cli("status", env=env)
    assert result.code == 2
    assert result.err == (
        "error: 3 bad migration file(s), listed above: deploy refuses to run until they are fixed\n"
    )
    out = result.out.splitlines()
    assert out[:3] == lines
    summaries = [line for line in out if not line.startswith(("  ", "bad file:"))]
    assert len(summaries) == 2
    assert summaries[0].startswith("local (") and summaries[0].endswith(": 6 applied, 0 pending")
    assert summaries[1].startswith("staging (")
    assert summaries[1].endswith(": 0 applied, 6 pending")

    report = json.loads(cli("status", "--json", env=env).out)
    assert sorted(report) == ["local", "staging"]
    assert report["local"]["bad_files"] == [line.removeprefix("bad file: ") for line in lines]
    assert len(report["staging"]["pending"]) == 6

    deploy = cli("deploy", "--env", "staging", env=env)
    assert (deploy.code, deploy.out) == (2, "")
    assert deploy.err == "error: " + lines[0].removeprefix("bad file: ") + "\n"


def test_an_applied_file_made_unreadable_is_named_not_missing(
    cli, project: Path, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    assert cli("deploy", "--env", "local", env=env).code == 0
    applied = sorted((project / "migrations").glob("*.sql"))[-1]
    applied.write_bytes(applied.read_bytes() + b"\n-- \xff\n")

    result = cli("status", env=env)
    assert result.code == 2
    assert result.out.splitlines()[0].startswith(f"bad file: {applied}:")
    assert "MISSING" not in result.out
    assert ": 6 applied, 0 pending\n" in result.out
