from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from rally_gitops.backup import store as backup_store
from rally_gitops.postgres import tools as pgtools
from rally_gitops.postgres.embedded import bin_dir
from testing.backups import (
    add_backup_config,
    backup_files,
    fake_pg_dump,
    ledger_rows,
    user_tables,
)
from testing.pg import TEST_PASSWORD
from testing.process import Result


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@pytest.fixture
def pw_url(pg_server, make_database) -> str:
    """A fresh database reached over TCP with a password."""
    return pg_server.password_url(db_name(make_database("bk")))


def backup_dir(project: Path, env: str = "staging") -> Path:
    return project / ".rally" / "backups" / env


def test_backup_command_writes_a_verified_full_and_schema_set(cli, project, pw_url):
    env = {"DATABASE_STAGING_URL": pw_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    result = cli("backup", "--env", "staging", env=env)
    assert result.code == 0, result.text
    names = backup_files(backup_dir(project))
    assert len(names) == 3
    stem = names[0].rsplit(".", 1)[0]
    assert stem.startswith("staging_backup_")
    assert {n.rsplit(".", 1)[1] for n in names} == {"dump", "json", "sql"}
    manifest = json.loads((backup_dir(project) / f"{stem}.json").read_text())
    assert manifest["ledger_head"] == {
        "version": "20241212_080000",
        "name": "20241212_080000_index_matches_status",
        "applied": 6,
    }
    assert manifest["server_version"].split(".")[0] == manifest["pg_dump_version"].split(".")[0]
    assert manifest["database"].endswith("/" + db_name(pw_url))
    for entry in manifest["files"]:
        path = backup_dir(project) / entry["file"]
        assert entry["size"] == path.stat().st_size > 0
        assert entry["sha256"] == backup_store.sha256_of(path)
        assert path.stat().st_mode & 0o077 == 0  # backups hold data: owner only
    schema_sql = (backup_dir(project) / f"{stem}.sql").read_text()
    assert "CREATE TABLE public.user_preferences" in schema_sql
    listing = cli("backups", "--env", "staging")
    assert listing.code == 0
    assert stem in listing.out
    assert "6 applied, newest 20241212_080000_index_matches_status" in listing.out
    text = result.text + listing.text + json.dumps(manifest) + " ".join(names) + schema_sql
    assert TEST_PASSWORD not in text


def test_kind_schema_only_and_retention(cli, project, database_url):
    add_backup_config(project, "keep = 2")
    env = {"DATABASE_STAGING_URL": database_url}
    backup_dir(project).mkdir(parents=True)
    old_orphan = backup_dir(project) / "staging_backup_20200101_000000_dead.dump"
    new_orphan = backup_dir(project) / "staging_backup_20200101_000001_busy.dump"
    for orphan in (old_orphan, new_orphan):  # what a killed (or a running) backup leaves
        orphan.write_bytes(b"partial")
    os.utime(old_orphan, (time.time() - 2 * 86400,) * 2)
    for _ in range(3):
        assert cli("backup", "--env", "staging", "--kind", "schema", env=env).code == 0
    assert not old_orphan.exists() and new_orphan.exists()
    new_orphan.unlink()
    names = backup_files(backup_dir(project))
    assert len([n for n in names if n.endswith(".json")]) == 2
    assert not [n for n in names if n.endswith(".dump")]
    listed = backup_store.list_sets(backup_dir(project), "staging")
    assert [s.path("schema") is not None for s in listed] == [True, True]


def test_deploy_takes_the_backup_first(cli, project, database_url):
    result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 0, result.text
    assert result.out.index("Backup staging_backup_") < result.out.index("Deploying 6")
    (backup,) = backup_store.list_sets(backup_dir(project), "staging")
    assert backup.manifest["reason"] == "before deploy"
    assert backup.manifest["ledger_head"]["applied"] == 0
    again = cli("deploy", "--env", "staging")
    assert again.code == 0
    assert len(backup_store.list_sets(backup_dir(project), "staging")) == 1  # nothing to apply


def _tiny_tmpfs(path: Path) -> bool:
    path.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def _deploy_with_file_size_limit(project: Path, env: dict[str, str], limit: int) -> Result:
    """``deploy --env staging`` as a process whose files cannot grow beyond ``limit`` bytes.

    Python ignores SIGXFSZ, so the write past the limit fails with EFBIG: the same path as a
    full disk (a failed write mid-dump), where a tmpfs cannot be mounted.
    """
    import resource
    import sys

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "rally_gitops", "-C", str(project), "deploy", "--env", "staging"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        preexec_fn=limit_files,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    "failure",
    ["bad_path", "too_old", "garbage", "empty", "dir_is_file", "disk_full", "truncated"],
)
def test_a_failed_backup_aborts_the_deploy_with_nothing_applied(
    cli, project, database_url, tmp_path, failure
):
    env = {"DATABASE_STAGING_URL": database_url}
    expected = {
        "bad_path": "not an executable pg_dump",
        "too_old": "must be at least the server's major version",
        "garbage": "pg_restore cannot read the archive to its end",
        "empty": "pg_dump exited 0 but wrote nothing",
        "dir_is_file": "cannot write backups",
        "disk_full": "No space left on device",
        "truncated": "pg_restore cannot read the archive to its end (the dump is incomplete",
    }[failure]
    if failure == "bad_path":
        add_backup_config(project, f'pg_dump = "{tmp_path}/nowhere/pg_dump"')
    elif failure == "too_old":
        fake = fake_pg_dump(tmp_path / "old", version="9.6.24", body="exit 0")
        add_backup_config(project, f'pg_dump = "{fake}"')
    elif failure == "garbage":  # exits 0 and writes a file pg_restore cannot read
        fake = fake_pg_dump(tmp_path / "bad", version="18.6", body="echo garbage")
        os.symlink(bin_dir() / "pg_restore", tmp_path / "bad" / "pg_restore")
        add_backup_config(project, f'pg_dump = "{fake}"')
    elif failure == "empty":  # exits 0 and writes nothing
        fake = fake_pg_dump(tmp_path / "empty", version="18.6", body="exit 0")
        add_backup_config(project, f'pg_dump = "{fake}"')
    elif failure == "truncated":  # exits 0 with 60% of a real archive: its TOC still reads
        assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO teams (name, slug) SELECT md5(g::text), md5((-g)::text)"
                " FROM generate_series(1, 20000) g"
            )
        (project / "migrations" / "20250101_000000_more.sql").write_text(
            "CREATE TABLE more_things (id int);\n"
        )
        real = bin_dir() / "pg_dump"
        fake = fake_pg_dump(
            tmp_path / "cut",
            version=str(pgtools.tool_version(str(real))),
            body=f'"{real}" "$@" > "$0.out" || exit 1\n'
            'head -c $(( $(stat -c %s "$0.out") * 6 / 10 )) "$0.out"',
        )
        os.symlink(bin_dir() / "pg_restore", tmp_path / "cut" / "pg_restore")
        cut = tmp_path / "cut.dump"
        with open(cut, "wb") as out:
            subprocess.run(
                [fake, "--format=custom", "--dbname", database_url], stdout=out, check=True
            )
        listing = subprocess.run([bin_dir() / "pg_restore", "--list", cut], capture_output=True)
        assert listing.returncode == 0 and b"TABLE DATA public teams" in listing.stdout
        add_backup_config(project, f'pg_dump = "{fake}"')
    elif failure == "dir_is_file":
        (tmp_path / "blocker").write_text("a file where the backup directory should be")
        add_backup_config(project, f'dir = "{tmp_path}/blocker/{{env}}"')
    else:
        # enough data that the dump cannot fit in 64 kB: deploy the first migration, fill it
        assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO teams (name, slug) SELECT md5(g::text), md5((-g)::text)"
                " FROM generate_series(1, 20000) g"
            )
        (project / "migrations" / "20250101_000000_more.sql").write_text(
            "CREATE TABLE more_things (id int);\n"
        )
        mount_point = tmp_path / "tiny"
        if _tiny_tmpfs(mount_point):
            add_backup_config(project, f'dir = "{mount_point}/{{env}}"')
        else:  # no right to mount: the process may write no file beyond 64 kB (RLIMIT_FSIZE)
            expected = "File too large"
    before_rows = ledger_rows(database_url)
    before_tables = user_tables(database_url)
    try:
        if failure == "disk_full" and expected == "File too large":
            result = _deploy_with_file_size_limit(project, env, 64 * 1024)
        else:
            result = cli("deploy", "--env", "staging", env=env)
    finally:
        if failure == "disk_full":
            subprocess.run(["umount", str(tmp_path / "tiny")], capture_output=True)
    assert result.code != 0
    assert "backup before deploy failed, nothing was applied" in result.err
    assert expected in result.err
    assert (ledger_rows(database_url) or 0) == (before_rows or 0)  # the lock step may create it
    assert user_tables(database_url) == before_tables
    assert "Traceback" not in result.text


def test_no_backup_is_refused_for_production_unless_allowed(cli, project, database_url):
    env = {"DATABASE_PUBLIC_URL": database_url, "CI": "true"}
    add_backup_config(project, "require_staging = false")
    refused = cli("deploy", "--env", "production", "--yes", "--no-backup", env=env)
    assert refused.code == 2
    assert "--no-backup is refused for production" in refused.err
    assert ledger_rows(database_url) is None
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text + 'allow_no_backup = ["production"]\n')
    allowed = cli("deploy", "--env", "production", "--yes", "--no-backup", env=env)
    assert allowed.code == 0, allowed.text
    assert ledger_rows(database_url) == 6
    assert backup_files(backup_dir(project, "production")) == []


def test_the_newest_new_enough_pg_dump_wins(tmp_path):
    tool = pgtools.find_tool("pg_dump", server_major=18)
    assert tool.major >= 18
    old = fake_pg_dump(tmp_path, version="15.4", body="exit 1")
    with pytest.raises(Exception, match=r"15\.4.*at least the server's major version"):
        pgtools.find_tool("pg_dump", server_major=18, configured=str(old))
    assert pgtools.find_tool("pg_dump", server_major=15, configured=str(old)).path == old


def _child_pg_dumps() -> list[int]:
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"pg_dump" in cmdline.split(b"\0")[0]:
            found.append(int(entry))
    return found


def test_the_password_reaches_pg_dump_through_a_passfile_never_argv(cli, project, pw_url):
    env = {"DATABASE_STAGING_URL": pw_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    seen: dict[str, bytes] = {}
    # hold a lock pg_dump must wait for, so that the real process can be inspected in /proc
    with psycopg.connect(pw_url) as blocker:
        blocker.execute("LOCK TABLE teams IN ACCESS EXCLUSIVE MODE")
        outcome: dict[str, object] = {}
        thread = threading.Thread(
            target=lambda: outcome.update(r=cli("backup", "--env", "staging", env=env))
        )
        thread.start()
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            for pid in _child_pg_dumps():
                try:
                    seen["cmdline"] = Path(f"/proc/{pid}/cmdline").read_bytes()
                    seen["environ"] = Path(f"/proc/{pid}/environ").read_bytes()
                    passfile = dict(
                        item.split(b"=", 1) for item in seen["environ"].split(b"\0") if b"=" in item
                    )[b"PGPASSFILE"].decode()
                    seen["passfile_mode"] = oct(os.stat(passfile).st_mode & 0o777).encode()
                    seen["passfile"] = passfile.encode()
                except (OSError, KeyError):
                    seen.clear()
            time.sleep(0.02)
        blocker.rollback()
    thread.join(60)
    result = outcome["r"]
    assert result.code == 0, result.text
    assert seen, "pg_dump was never seen running"
    assert TEST_PASSWORD.encode() not in seen["cmdline"]
    assert b"127.0.0.1" in seen["cmdline"]  # it did get the connection, minus the password
    assert TEST_PASSWORD.encode() not in seen["environ"]  # not PGPASSWORD either
    assert seen["passfile_mode"] == b"0o600"
    assert not Path(seen["passfile"].decode()).exists()  # removed afterwards
    programs = [Path(argv[0]).name for argv in pgtools.STARTED]  # this test's only (conftest)
    assert programs.count("pg_dump") == 1 and programs.count("pg_restore") >= 2, programs
    assert all(TEST_PASSWORD not in " ".join(argv) for argv in pgtools.STARTED)
    files = backup_files(backup_dir(project))
    assert files and all(TEST_PASSWORD not in name for name in files)
    for name in files:
        if name.endswith((".json", ".sql")):
            assert TEST_PASSWORD not in (backup_dir(project) / name).read_text()
    assert TEST_PASSWORD not in result.text


def test_backups_lists_as_json_and_refuses_unknown_environments(cli, project, database_url):
    empty = cli("backups", "--env", "staging")
    assert empty.code == 0 and "no backups" in empty.out
    assert cli("backup", "--env", "staging", env={"DATABASE_STAGING_URL": database_url}).code == 0
    listed = cli("backups", "--env", "staging", "--json")
    assert listed.code == 0
    (entry,) = json.loads(listed.out)
    assert entry["name"].startswith("staging_backup_") and entry["reason"] == "manual"
    assert {f["kind"] for f in entry["files"]} == {"full", "schema"}
    unknown = cli("backups", "--env", "qa")
    assert unknown.code == 2 and "unknown environment 'qa'" in unknown.err


def test_a_schema_snapshot_without_its_trailer_is_refused(cli, project, database_url, tmp_path):
    """pg_dump exiting 0 with the end of the snapshot missing: no backup, nothing left behind."""
    real = bin_dir() / "pg_dump"
    fake = fake_pg_dump(
        tmp_path / "short",
        version=str(pgtools.tool_version(str(real))),
        body=f'"{real}" "$@" | grep -v "dump complete"',
    )
    add_backup_config(project, f'pg_dump = "{fake}"')
    result = cli(
        "backup", "--env", "staging", "--kind", "schema", env={"DATABASE_STAGING_URL": database_url}
    )
    assert result.code == 1
    (line,) = result.err.splitlines()
    assert line.startswith("error: ") and line.endswith(": the schema snapshot is incomplete")
    assert backup_files(backup_dir(project)) == []


def test_a_manifest_that_reads_back_differently_fails_the_backup(
    cli, project, database_url, monkeypatch
):
    """A disk that returns other bytes than were written (the manifest read back from disk)."""
    written = backup_store.write_manifest

    def lying_disk(directory, stem, manifest):
        backup = written(directory, stem, manifest)
        on_disk = json.loads(backup.manifest_path.read_text())
        on_disk["files"][0]["sha256"] = "0" * 64
        backup.manifest_path.write_text(json.dumps(on_disk))
        return backup

    monkeypatch.setattr(backup_store, "write_manifest", lying_disk)
    result = cli("backup", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 1
    assert result.err.strip().endswith("the manifest read back differs from the one written")
    assert backup_files(backup_dir(project)) == []  # no set that could be offered for restore
