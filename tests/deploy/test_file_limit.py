"""The file size limit: one setting (``[tool.rally_gitops.lint] max_file_bytes``) for every
command, 16 MiB by default."""

from __future__ import annotations

from pathlib import Path

import psycopg

from rally_gitops.files.migrations import MAX_FILE_BYTES

NAME = "20250101_000000_big_seed.sql"


def write_big(project: Path, rows: int) -> int:
    body = "".join(
        f"INSERT INTO teams (name, slug) VALUES ('t{n}', 's{n}');\n" for n in range(rows)
    )
    text = f"-- Migration: {NAME[:-4]}\n-- Description: seed\n\nBEGIN;\n{body}COMMIT;\n"
    (project / "migrations" / NAME).write_text(text)
    return len(text.encode())


def limit(project: Path, value: int) -> None:
    with (project / "pyproject.toml").open("a") as config:
        config.write(f"\n[tool.rally_gitops.lint]\nmax_file_bytes = {value}\n")


def test_default_limit_is_16_mib() -> None:
    assert MAX_FILE_BYTES == 16 * 1024 * 1024


def test_deploy_refuses_a_file_over_the_configured_limit(project, cli, database_url) -> None:
    size = write_big(project, 200)
    limit(project, size - 1)
    result = cli("deploy", "--env", "staging", "--yes", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 2
    assert f"{size:,} bytes is over the {size - 1:,}-byte limit for a migration" in result.err


def test_deploy_takes_a_file_the_limit_allows(project, cli, database_url) -> None:
    size = write_big(project, 200)
    limit(project, size)
    result = cli(
        "deploy",
        "--env",
        "staging",
        "--yes",
        "--no-backup",
        env={"DATABASE_STAGING_URL": database_url},
    )
    assert result.code == 0, result.text
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM teams WHERE slug LIKE 's%'").fetchone() == (200,)


def test_bad_limit_is_a_configuration_error(project, cli, database_url) -> None:
    limit(project, 0)
    result = cli("status", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 2
    assert "max_file_bytes = 0: expected a positive integer" in result.err
