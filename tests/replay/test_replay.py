"""Layer 4: replay on a real PostgreSQL through the deploy engine, with the template cache."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from rally_gitops import config as config_mod
from rally_gitops.files.migrations import discover
from rally_gitops.replay.cache import BUILDING
from rally_gitops.replay.run import TEMPLATE, cache_key, replay

SEED = "20241213_000000_seed_rows.sql"
BAD = "20241214_000000_change.sql"


def migration(name: str, body: str, rollback: str = "") -> str:
    """A migration whose first body line is line 5 (header, description, blank, BEGIN)."""
    text = f"-- Migration: {name[:-4]}\n-- Description: test\n\nBEGIN;\n{body}\nCOMMIT;\n"
    if rollback:
        lines = "\n".join(f"-- {line}" for line in rollback.split("\n"))
        text += f"\n-- Rollback script (uncomment if needed):\n-- BEGIN;\n{lines}\n-- COMMIT;\n"
    return text


def replay_databases(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'rally\\_replay\\_%' ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def drop_replay_databases(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in replay_databases(url):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def replay_url(make_database, pg_server, monkeypatch):
    """RALLY_REPLAY_DATABASE_URL set to a fresh database of the test server; replay databases
    of earlier tests are dropped first so that cache hits and misses are this test's own."""
    url = make_database("replay")
    drop_replay_databases(pg_server.admin_url)
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", url)
    yield url
    drop_replay_databases(pg_server.admin_url)


@pytest.fixture
def seeded(project: Path) -> Path:
    """The sample project plus a committed-style migration that leaves rows behind."""
    (project / "migrations" / SEED).write_text(
        migration(
            SEED,
            "INSERT INTO teams (name, slug) VALUES ('Reds', 'reds');\n"
            "INSERT INTO users (email, display_name) VALUES ('a@example.com', 'A');",
        )
    )
    return project


CASES = [
    (
        "unknown type, second line of a statement",
        "SELECT 1;\nALTER TABLE users\n    ADD COLUMN mood moood;",
        7,
        21,
        'type "moood" does not exist',
    ),
    (
        "unknown type",
        "ALTER TABLE users ADD COLUMN mood moood;",
        5,
        35,
        'type "moood" does not exist',
    ),
    (
        "missing column",
        "SELECT 1;\nCREATE INDEX users_nick_idx ON users (nickname);",
        6,
        None,
        'column "nickname" does not exist',
    ),
    (
        "missing table",
        "ALTER TABLE players ADD COLUMN x int;",
        5,
        None,
        'relation "players" does not exist',
    ),
    (
        "not null over null rows",
        "ALTER TABLE users ALTER COLUMN team_id SET NOT NULL;",
        5,
        1,
        'column "team_id" of relation "users" contains null values',
    ),
    (
        "check over violating rows",
        "ALTER TABLE teams\n    ADD CONSTRAINT teams_name_long CHECK (length(name) > 5);",
        5,
        1,
        'check constraint "teams_name_long" of relation "teams" is violated by some row',
    ),
    (
        "duplicate object",
        "CREATE TABLE teams (id int);",
        5,
        None,
        'relation "teams" already exists',
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "line", "column", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_replay_reports_the_failure_with_file_and_line(
    seeded, cli, replay_url, case, body, line, column, message
):
    (seeded / "migrations" / BAD).write_text(migration(BAD, body))
    result = cli("validate", str(seeded / "migrations" / BAD))
    assert result.code == 1, result.text
    first = (result.out.splitlines() or [result.text])[0]
    path, found_line, found_column, rest = first.split(":", 3)
    assert path.endswith(f"migrations/{BAD}")
    assert int(found_line) == line
    if column is not None:
        assert int(found_column) == column
    assert rest.startswith(" error replay-failed ")
    assert message in rest


def test_failure_in_the_second_new_file_names_that_file(seeded, cli, replay_url) -> None:
    good = "20241214_000000_add_nick.sql"
    bad = "20241215_000000_use_nick.sql"
    (seeded / "migrations" / good).write_text(migration(good, "ALTER TABLE users ADD nick text;"))
    (seeded / "migrations" / bad).write_text(
        migration(bad, "UPDATE users SET nick = 'x';\nUPDATE users SET nickname = 'y';")
    )
    result = cli("validate", f"migrations/{good}", f"migrations/{bad}")
    assert result.code == 1
    assert f"migrations/{bad}:6:" in result.out
    assert good not in result.out


def test_round_trip_failures_are_errors_unless_configured(project, cli, replay_url) -> None:
    leaky = "20241214_000000_add_scores.sql"
    (project / "migrations" / leaky).write_text(
        migration(
            leaky,
            "CREATE TABLE scores (id int);\nCREATE INDEX scores_id_idx ON scores (id);",
            rollback="DROP INDEX scores_id_idx;",
        )
    )
    broken = "20241215_000000_add_ranks.sql"
    (project / "migrations" / broken).write_text(
        migration(broken, "CREATE TABLE ranks (id int);", rollback="DROP TABLE rankz;")
    )
    # an error by default: pre-commit would hide a warning of the passing hook
    result = cli("validate", f"migrations/{leaky}", f"migrations/{broken}")
    assert result.code == 1, result.text
    assert [
        line.split(" rollback-roundtrip-failed ")[0].split("/proj/")[-1]
        for line in result.out.splitlines()
        if "rollback-roundtrip-failed" in line
    ] == [
        f"migrations/{leaky}:5:1: error",
        f"migrations/{broken}:{rollback_line_of(broken)}:1: error",
    ]
    assert "2 errors, 0 warnings" in result.out

    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.rally_gitops.replay]\nround_trip = "warn"\n'
    )
    result = cli("validate", f"migrations/{leaky}", f"migrations/{broken}")
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    assert f"migrations/{leaky}:5:1: warning rollback-roundtrip-failed" in lines[0]
    assert 'relation "scores" already exists' in lines[0]
    rollback_line = migration(broken, "CREATE TABLE ranks (id int);", "DROP TABLE rankz;")
    expected = rollback_line.split("\n").index("-- DROP TABLE rankz;") + 1
    assert f"migrations/{broken}:{expected}:" in result.out
    assert 'the rollback section fails: table "rankz" does not exist' in result.out


def rollback_line_of(name: str) -> int:
    text = migration(name, "CREATE TABLE ranks (id int);", "DROP TABLE rankz;")
    return text.split("\n").index("-- DROP TABLE rankz;") + 1


def test_round_trip_setting_is_checked(project, cli) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.rally_gitops.replay]\nround_trip = "off"\n'
    )
    result = cli("validate", "--all")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        'error: [tool.rally_gitops.replay] round_trip = \'off\': expected "error" or "warn"\n'
    )


def test_template_cache_is_hit_on_the_second_run(project, cli, replay_url, pg_server) -> None:
    newest = sorted((project / "migrations").glob("*.sql"))[-1]
    first = cli("validate", str(newest))
    assert first.code == 0, first.text
    assert "cache built" in first.err and "5 from the template" in first.err
    config = config_mod.load(project)
    key = cache_key(config, discover(config.migrations_dir)[:5])
    assert replay_databases(pg_server.admin_url) == [TEMPLATE + key]
    second = cli("validate", str(newest))
    assert second.code == 0
    assert "cache hit" in second.err and "1 applied" in second.err
    assert replay_databases(pg_server.admin_url) == [TEMPLATE + key]


def test_replay_url_is_honoured_and_other_databases_untouched(
    project, cli, replay_url, make_database, pg_server
):
    other = make_database("other")
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (42)")
    result = cli("validate", "--all")
    assert result.code == 0, result.text
    # the replay ran on the server of RALLY_REPLAY_DATABASE_URL (it holds no password to hide)
    assert result.err.startswith(f"replay on {replay_url}: no template, 6 applied, "), result.err
    # the embedded replay server was not started; the maintenance database got no objects
    assert not (project / ".rally" / "replay-pgdata").exists()
    for url in (replay_url, other):
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema')"
            ).fetchone()[0]
            assert tables == (0 if url == replay_url else 1)
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT id FROM keep_me").fetchone() == (42,)
    # nothing of ours is left behind with --all (no prefix, so no template either)
    assert replay_databases(pg_server.admin_url) == []


def test_password_url_is_never_printed(project, cli, make_database, pg_server, monkeypatch) -> None:
    from urllib.parse import urlsplit

    from testing.pg import TEST_PASSWORD

    name = urlsplit(make_database("replaypw")).path.lstrip("/")
    url = pg_server.password_url(name)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute("ALTER ROLE rally_pw_user CREATEDB")
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", url)
    bad = project / "migrations" / BAD
    bad.write_text(migration(BAD, "ALTER TABLE nope ADD x int;"))
    result = cli("validate", str(bad))
    assert result.code == 1
    assert TEST_PASSWORD not in result.text
    assert "rally_pw_user:***@" in result.err
    drop_replay_databases(pg_server.admin_url)


def test_concurrent_replays_share_one_template(project, replay_url, pg_server) -> None:
    config = config_mod.load(project)
    migrations = discover(config.migrations_dir)
    results: list = []
    threads = [
        threading.Thread(target=lambda: results.append(replay(config, migrations, migrations[-1:])))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.findings for r in results] == [[], [], []]
    assert sorted(r.cache_hit for r in results) == [False, True, True]
    assert replay_databases(pg_server.admin_url) == [TEMPLATE + cache_key(config, migrations[:5])]


def test_old_templates_are_evicted(project, replay_url, pg_server) -> None:
    config = config_mod.load(project)
    migrations = discover(config.migrations_dir)
    for start in (5, 4, 3, 2):
        assert replay(config, migrations, migrations[start:], with_round_trip=False).findings == []
    left = replay_databases(pg_server.admin_url)
    assert len(left) == 3 and all(name.startswith(TEMPLATE) for name in left)
    assert TEMPLATE + cache_key(config, migrations[:5]) not in left


def test_only_changed_files_are_new_in_a_git_repository(project, cli, replay_url) -> None:
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=project, check=True)
    name = "20241220_000000_add_bio.sql"
    (project / "migrations" / name).write_text(migration(name, "ALTER TABLE users ADD bio text;"))
    result = cli("validate", "--base", "main")
    assert result.code == 0, result.text
    assert "6 from the template" in result.err and "1 applied" in result.err
    missing = cli("validate")  # origin/main does not exist here
    assert missing.code == 2
    assert "git fetch origin main" in missing.err


def test_outside_git_every_migration_is_new(project, cli, replay_url) -> None:
    result = cli("validate")
    assert result.code == 0, result.text
    assert "no template, 6 applied, 6 round trip(s)" in result.err


def test_usage_errors(project, cli, tmp_path) -> None:
    stray = tmp_path / "stray.sql"
    stray.write_text("SELECT 1;")
    result = cli("validate", str(stray))
    assert result.code == 2
    assert "not a migration" in result.err
    assert cli("validate", "migrations/nope.sql").code == 2


def test_validate_hook(project, replay_url, monkeypatch) -> None:
    from rally_gitops_hooks import migration_validate

    monkeypatch.chdir(project)
    newest = sorted((project / "migrations").glob("*.sql"))[-1]
    assert migration_validate.main([str(newest.relative_to(project))]) == 0
    bad = project / "migrations" / BAD
    bad.write_text(migration(BAD, "CREATE TABLE users (id int);"))
    assert migration_validate.main([f"migrations/{BAD}"]) == 1


def test_sample_migrations_pass_on_the_embedded_server(project: Path) -> None:
    """Whole process, embedded replay server; then a missing extension gets a clear message."""
    import shutil
    import tempfile

    from rally_gitops.postgres.embedded import EmbeddedServer
    from testing.process import run_process

    # Outside pytest's basetemp, like the pg_server fixture: a pytest session starting meanwhile
    # resets /tmp/pytest-of-<user> to 0700 and locks the server's unprivileged user out.
    root = Path(tempfile.mkdtemp(prefix="rally-test-replay-")) / "proj"
    shutil.copytree(project, root)
    try:
        result = run_process(["validate"], cwd=root)
        assert result.code == 0, result.text
        assert "replay on the embedded PostgreSQL" in result.err and "6 applied" in result.err
        name = "20241220_000000_enable_pgcrypto.sql"
        path = root / "migrations" / name
        path.write_text(migration(name, "CREATE EXTENSION IF NOT EXISTS pgcrypto;"))
        failed = run_process(["validate", f"migrations/{name}"], cwd=root)
        assert failed.code == 1, failed.text
        assert f"migrations/{name}:5:1: error replay-failed" in failed.out
        assert 'extension "pgcrypto" is not available on the embedded PostgreSQL' in failed.out
        assert "RALLY_REPLAY_DATABASE_URL" in failed.out
        assert "Traceback" not in failed.text
    finally:
        EmbeddedServer(root / ".rally" / "replay-pgdata").stop()
        shutil.rmtree(root.parent, ignore_errors=True)


def test_github_format_and_empty_directory(project, cli, replay_url) -> None:
    bad = project / "migrations" / BAD
    bad.write_text(migration(BAD, "SELECT 1;\nALTER TABLE nope ADD x int;"))
    result = cli("validate", "--format", "github", str(bad))
    assert result.code == 1
    assert result.out.startswith("::error file=")
    assert f"{BAD},line=6,col=1,title=replay-failed::" in result.out
    as_json = cli("validate", "--format", "json", str(bad))
    import json

    [finding] = json.loads(as_json.out)["findings"]
    assert (finding["code"], finding["line"], finding["severity"]) == ("replay-failed", 6, "error")
    sarif = json.loads(cli("validate", "--format", "sarif", str(bad)).out)
    assert sarif["runs"][0]["results"][0]["ruleId"] == "replay-failed"
    for path in (project / "migrations").glob("*.sql"):
        path.unlink()
    empty = cli("validate")
    assert empty.code == 0 and "nothing to replay" in empty.err


def test_no_transaction_failure_points_at_the_token(project, cli, replay_url) -> None:
    name = "20241220_000000_concurrent.sql"
    (project / "migrations" / name).write_text(
        f"-- Migration: {name[:-4]}\n-- Description: x\n-- rally:no-transaction\n\n"
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n\n"
        "ALTER TABLE users\n    ADD COLUMN mood moood;\n"
    )
    result = cli("validate", f"migrations/{name}")
    assert result.code == 1
    assert f"migrations/{name}:8:21: error replay-failed" in result.out


SNAPSHOT = (
    "SELECT c.relkind::text || ' ' || n.nspname || '.' || c.relname || ' ' || coalesce(("
    "  SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
    "    || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY a.attnum)"
    "  FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    "), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
    " UNION ALL SELECT 'index ' || indexdef FROM pg_indexes"
    " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    " UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE connamespace::regnamespace::text NOT LIKE 'pg\\_%'"
    " UNION ALL SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)"
    " FROM pg_proc p WHERE p.pronamespace::regnamespace::text NOT IN"
    "   ('pg_catalog', 'information_schema')"
    " UNION ALL SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(oid) FROM pg_trigger"
    " WHERE NOT tgisinternal"
    " UNION ALL SELECT 'applied ' || version || ' ' || name || ' ' || checksum"
    " FROM rally_gitops.applied"
    " UNION ALL SELECT 'history ' || event || ' ' || version || ' ' || checksum"
    " FROM rally_gitops.history"
    " ORDER BY 1"
)


def template_snapshot(pg_server, name: str) -> list[str]:
    from urllib.parse import urlsplit, urlunsplit

    url = urlunsplit(urlsplit(pg_server.admin_url)._replace(path="/" + name))
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute(SNAPSHOT).fetchall()]


def test_grown_prefix_extends_the_previous_template(project, cli, replay_url, pg_server) -> None:
    config = config_mod.load(project)
    migrations = discover(config.migrations_dir)
    four, five = (TEMPLATE + cache_key(config, migrations[:n]) for n in (4, 5))
    first = replay(config, migrations, migrations[4:])  # the commit before: template of 4
    assert (first.findings, first.cache_hit, first.extended_from) == ([], False, 0)
    assert replay_databases(pg_server.admin_url) == [four]
    # the 5th file got committed; the next commit adds the 6th: the template of 4 becomes that
    # of 5 (one migration applied to it), then is cloned for the 6th
    result = cli("validate", str(migrations[5].path))
    assert result.code == 0, result.text
    assert "5 from the template (cache extended from the template of 4)" in result.err
    assert replay_databases(pg_server.admin_url) == [five]
    extended = template_snapshot(pg_server, five)
    # the same template built from zero holds exactly the same schema and ledger
    drop_replay_databases(pg_server.admin_url)
    again = replay(config, migrations, migrations[5:])
    assert (again.findings, again.cache_hit, again.extended_from) == ([], False, 0)
    assert template_snapshot(pg_server, five) == extended
    assert len([row for row in extended if row.startswith("applied ")]) == 5
    assert any(row.startswith("trigger ") for row in extended)  # the schema is not trivial


def test_the_schema_of_no_migrations_is_read_from_one_kept_database(
    project, replay_url, pg_server
) -> None:
    """The drift check before a deploy to a fresh database reads what no migration makes: from
    a database made once as CREATE DATABASE makes it (copying template0 costs a checkpoint at
    every read), the same schema as a copy's, and a template's objects never in it."""
    from rally_gitops.replay.cache import EMPTY
    from rally_gitops.replay.snapshot import replayed, replayed_template
    from rally_gitops.schema import filters
    from rally_gitops.schema.sources import read_url

    config = config_mod.load(project)
    selection = filters.for_config(config)
    with replayed_template(config, discover(config.migrations_dir)) as url:
        assert read_url(url, selection).objects  # the sample schema: tables, indexes...
    with replayed(config, []) as url:
        copied = read_url(url, selection)
    made = []
    for _ in range(2):
        with replayed_template(config, []) as url:
            assert url.split("?")[0].rsplit("/", 1)[1] == EMPTY
            assert read_url(url, selection) == copied
        with psycopg.connect(pg_server.admin_url) as admin:
            row = admin.execute("SELECT oid FROM pg_database WHERE datname = %s", (EMPTY,))
            made.append(row.fetchone())
    assert made[0] is not None and made[0] == made[1]  # kept, not made again


def test_a_half_built_template_of_a_killed_replay_is_dropped_on_any_server(
    project, replay_url, pg_server
) -> None:
    # a template is built under the cache's lock: one without a session on it is a killed
    # builder's (a deploy's drift check cut off, a cancelled CI job); on a server that is not
    # ours (RALLY_REPLAY_DATABASE_URL here) its process id tells nothing
    dead, busy = f"{BUILDING}999999_deadbeef", f"{BUILDING}999998_feedbeef"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        for name in (dead, busy):
            admin.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(pg_server.admin_url, dbname=busy)
    try:
        with psycopg.connect(url) as session:  # its builder still at work (another lock domain)
            config = config_mod.load(project)
            migrations = discover(config.migrations_dir)
            assert replay(config, migrations, migrations[-1:], with_round_trip=False).findings == []
            left = replay_databases(pg_server.admin_url)
            session.execute("SELECT 1")
        assert dead not in left
        assert busy in left
    finally:
        drop_replay_databases(pg_server.admin_url)
