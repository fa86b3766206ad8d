"""Passwords never reach output: the redaction helpers and every command, as real processes."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from rally_gitops.redact import password_of, redact_url, register_secret, scrub
from testing.pg import TEST_PASSWORD
from testing.process import run_process

WRONG_PASSWORD = TEST_PASSWORD + "-wrong"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cr3t@db:5432/app", "postgresql://app:***@db:5432/app"),
        (
            "postgres://app:s3cr3t@db/app?sslmode=require",
            "postgres://app:***@db/app?sslmode=require",
        ),
        ("postgresql://app@db/app?password=s3cr3t", "postgresql://app@db/app?password=***"),
        ("postgresql://app:p%40ss%3Aw%2Frd@db/app", "postgresql://app:***@db/app"),
        ("postgresql://db/app", "postgresql://db/app"),
        ("postgresql://app:@db/app", "postgresql://app:***@db/app"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_password_of_decodes_the_url_form() -> None:
    assert password_of("postgresql://app:p%40ss%3Aw%2Frd@db/app") == "p@ss:w/rd"
    assert password_of("postgresql://app@db/app?password=x%26y") == "x&y"
    assert password_of("postgresql://app@db/app") is None


def test_scrub_removes_registered_secrets_in_any_form() -> None:
    register_secret("p@ss:w/rd-77")
    text = "FATAL: bad p@ss:w/rd-77 and p%40ss%3Aw%2Frd-77 and password=abc and password='x y'"
    cleaned = scrub(text)
    assert "p@ss:w/rd-77" not in cleaned and "p%40ss%3Aw%2Frd-77" not in cleaned
    assert "abc" not in cleaned and "x y" not in cleaned
    register_secret("ab")  # too short to scrub safely: would mangle ordinary words
    assert scrub("table abc") == "table abc"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_command_output_contains_the_password(
    project: Path, pg_server, database_url: str
) -> None:
    """Every command, success and failure, in a fresh process (no secret registered in advance)."""
    url = pg_server.password_url(urlsplit(database_url).path.lstrip("/"))
    assert TEST_PASSWORD in url
    prod_url = pg_server.password_url(pg_server.create_database("redact_prod"))
    with (project / "pyproject.toml").open("a") as handle:
        handle.write("\n[tool.rally_gitops.backup]\nrequire_staging = true\n")
    env = {"DATABASE_STAGING_URL": url, "DATABASE_URL": url, "DATABASE_PUBLIC_URL": prod_url}
    port = closed_port()
    bad_file = project / "migrations" / "20991231_000000_fails.sql"
    runs = [
        (["plan", "--env", "staging"], env, 0),
        (["deploy", "--env", "staging"], env, 0),
        (["status"], env, 0),
        (["status", "--env", "staging", "--json"], env, 0),
        (["check"], env, 0),
        (["ledger", "export", "--env", "staging"], env, 0),
        (["ledger", "history", "--env", "staging"], env, 0),
        (["deploy", "--env", "production", "--yes"], env, 0),
        (
            ["status", "--env", "staging"],
            {"DATABASE_STAGING_URL": url.replace(TEST_PASSWORD, WRONG_PASSWORD)},
            1,
        ),
        (
            ["check", "--env", "staging"],
            {"DATABASE_STAGING_URL": url.replace(TEST_PASSWORD, WRONG_PASSWORD)},
            1,
        ),
        (
            ["deploy", "--env", "staging"],
            {"DATABASE_STAGING_URL": f"postgresql://app:{TEST_PASSWORD}@127.0.0.1:{port}/app"},
            1,
        ),
        (
            ["deploy", "--env", "staging"],
            {"DATABASE_STAGING_URL": f"postgresql://app:{TEST_PASSWORD}@db:nope/app"},
            2,
        ),
        (
            ["deploy", "--env", "staging"],
            {"DATABASE_STAGING_URL": f"postgresql://app:{TEST_PASSWORD}@db/app?sslmode=x"},
            2,
        ),
        (
            ["deploy", "--env", "staging"],
            {"DATABASE_STAGING_URL": f"mysql://app:{TEST_PASSWORD}@db/app"},
            2,
        ),
        (["deploy", "--env", "staging"], {"DATABASE_STAGING_URL": TEST_PASSWORD}, 2),
    ]
    for args, run_env, code in runs:
        result = run_process(args, cwd=project, env=run_env)
        assert result.code == code, (args, result.text)
        for secret in (TEST_PASSWORD, WRONG_PASSWORD):
            assert secret not in result.text, (args, result.text)
        assert "Traceback" not in result.text
    # a failing migration whose error message quotes the URL (as a user might paste it)
    bad_file.write_text(f'SELECT 1/0 AS "{url}";\n')
    failed = run_process(["deploy", "--env", "staging"], cwd=project, env=env)
    assert failed.code == 1 and "division by zero" in failed.err
    assert TEST_PASSWORD not in failed.text
    # nothing the tool wrote (backups, manifests, state) names or contains the password
    written = list((project / ".rally").rglob("*"))
    assert written, "expected the deploys' backups under .rally/"
    for path in written:
        assert TEST_PASSWORD not in str(path)
        if path.is_file() and path.suffix in {".json", ".txt", ".log", ".toml", ".sql", ".md"}:
            assert TEST_PASSWORD not in path.read_text(errors="replace"), path


UNENCODED = [  # (password as typed into the URL, the pieces that must never be printed)
    ("Head7@tail9xyz", ("Head7", "tail9xyz")),
    ("Head7/tail9xyz", ("Head7", "tail9xyz")),
    ("Head7?tail9xyz", ("Head7", "tail9xyz")),
    ("Head7#tail9xyz", ("Head7", "tail9xyz")),
    ("Head7 tail9xyz", ("Head7", "tail9xyz")),
    ("Head7@mid88/tail9xyz", ("Head7", "mid88", "tail9xyz")),
]


@pytest.mark.parametrize(("password", "pieces"), UNENCODED)
def test_a_url_with_an_unencoded_password_is_a_configuration_error(
    project: Path, password: str, pieces: tuple[str, ...]
) -> None:
    url = f"postgresql://app:{password}@127.0.0.1:5432/app"
    runs = [
        (["status", "--env", "staging"], {"DATABASE_STAGING_URL": url}, 2),
        (["deploy", "--env", "staging"], {"DATABASE_STAGING_URL": url}, 2),
        (["backup", "--env", "local"], {"DATABASE_URL": url}, 2),
        (["check", "--env", "production"], {"DATABASE_PUBLIC_URL": url}, 2),
        (["validate", "--all"], {"RALLY_REPLAY_DATABASE_URL": url}, 2),
    ]
    for args, env, code in runs:
        result = run_process(args, cwd=project, env=env)
        assert result.code == code, (args, result.text)
        (line,) = [ln for ln in result.text.splitlines() if "PostgreSQL URL" in ln]
        assert "is not a valid PostgreSQL URL: its user or password contains a character" in line
        assert "write @ as %40, / as %2F" in line
        assert "Traceback" not in result.text
        for piece in (password, *pieces):
            assert piece not in result.text, (args, piece, result.text)
    for path in (project / ".rally").rglob("*") if (project / ".rally").exists() else ():
        for piece in pieces:
            assert piece not in str(path)
            assert not path.is_file() or piece.encode() not in path.read_bytes()


def test_scrub_hides_an_unencoded_password_up_to_the_last_at_sign() -> None:
    text = "cannot connect to postgresql://u:Pa55@ss9xyz@127.0.0.1:5432/db: refused"
    assert scrub(text) == "cannot connect to postgresql://u:***@127.0.0.1:5432/db: refused"
    assert redact_url("postgresql://u:Pa55/ss9xyz@h/db") == "postgresql://u:***@h/db"


URL_NAMES = (b"DATABASE_URL=", b"DATABASE_STAGING_URL=", b"DATABASE_PUBLIC_URL=")


def _spy(path: Path, real: str, record: Path) -> None:
    """An executable at ``path`` that saves its environment under ``record`` and runs ``real``."""
    path.write_text(f'#!/bin/sh\nenv -0 > "{record}/$(basename "$0").$$"\nexec "{real}" "$@"\n')
    path.chmod(0o755)


def test_child_processes_get_no_database_urls(pg_server, database_url: str) -> None:
    """git (gitpython and plain), pg_dump (--version too), the replay server's postmaster."""
    import os
    import shutil
    import tempfile

    from rally_gitops.postgres.embedded import EmbeddedServer, bin_dir
    from testing.gitrepo import git
    from testing.migration_files import make_project
    from testing.process import SAMPLE_MIGRATIONS

    base = Path(tempfile.mkdtemp(prefix="rally-childenv-"))  # outside basetemp (see conftest)
    root = make_project(base / "proj")
    shutil.rmtree(root / "migrations")
    shutil.copytree(SAMPLE_MIGRATIONS, root / "migrations")
    spies, record = base / "bin", base / "record"
    spies.mkdir()
    record.mkdir()
    _spy(spies / "git", shutil.which("git") or "git", record)
    _spy(spies / "pg_dump", str(bin_dir() / "pg_dump"), record)
    os.symlink(bin_dir() / "pg_restore", spies / "pg_restore")
    with (root / "pyproject.toml").open("a") as handle:
        handle.write(f'\n[tool.rally_gitops.backup]\npg_dump = "{spies / "pg_dump"}"\n')
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    url = pg_server.password_url(urlsplit(database_url).path.lstrip("/"))
    env = {
        "DATABASE_URL": url,
        "DATABASE_STAGING_URL": url,
        "DATABASE_PUBLIC_URL": url,
        "PATH": f"{spies}{os.pathsep}{os.environ['PATH']}",
    }
    replay_server = EmbeddedServer(root / ".rally" / "replay-pgdata")
    try:
        for args in (
            ["lint", "--base", "main"],
            ["deploy", "--env", "staging"],
            ["validate", "--all"],
        ):
            result = run_process(args, cwd=root, env=env)
            assert result.code == 0, (args, result.text)
        pid = (root / ".rally" / "replay-pgdata" / "postmaster.pid").read_text().split()[0]
        postmaster = Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        if replay_server.data_dir.exists():
            replay_server.stop()
    assert b"PATH=" in postmaster  # it is the real environment, just without the URLs
    recorded = {path.name.split(".")[0]: path.read_bytes() for path in record.iterdir()}
    assert set(recorded) == {"git", "pg_dump"}  # gitpython's, head_sha's git; pg_dump --version
    assert len(list(record.glob("pg_dump.*"))) == 2  # --version, then the dump itself
    for environ in [postmaster, *(p.read_bytes() for p in record.iterdir())]:
        entries = environ.split(b"\0")
        assert not [e for e in entries if e.startswith(URL_NAMES)]
        assert TEST_PASSWORD.encode() not in environ
    shutil.rmtree(base, ignore_errors=True)


def test_child_environ_drops_every_database_url_and_secret() -> None:
    from rally_gitops.redact import child_environ

    register_secret("child-secret-991")
    base = {
        "PATH": "/usr/bin",
        "DATABASE_URL": "x",
        "DATABASE_STAGING_URL": "x",
        "DATABASE_PUBLIC_URL": "x",
        "DATABASE_QA_URL": "x",
        "RALLY_REPLAY_DATABASE_URL": "x",
        "MY_DB": "postgresql://u:p@h/db",
        "TOKEN": "prefix-child-secret-991",
        "DATABASE_NAME": "kept",
    }
    assert child_environ(base) == {"PATH": "/usr/bin", "DATABASE_NAME": "kept"}
