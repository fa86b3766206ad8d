"""A role without rights on an existing ledger: a clear error naming the GRANTs, never a bug
report; ``check`` diagnoses it, and the GRANTs it names are enough (issue 14, point 15)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from testing.pg import TEST_PASSWORD, TestServer


@pytest.fixture
def role(pg_server: TestServer, database_url: str) -> Iterator[str]:
    """A login role with no rights in the test database (dropped afterwards)."""
    name = f"rally_norights_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(TEST_PASSWORD)
            )
        )
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def role_url(pg_server: TestServer, database_url: str, role: str) -> str:
    database = database_url.split("?")[0].rsplit("/", 1)[1]
    return (
        f"postgresql://{role}:{TEST_PASSWORD}@{pg_server.tcp_host}:{pg_server.tcp_port}/{database}"
    )


def as_owner(database_url: str, statements: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(statements)


def add_migration(project: Path) -> None:
    source = sorted((project / "migrations").glob("*.sql"))[0]
    text = source.read_text(encoding="utf-8").replace(source.stem, "20300101_000000_later")
    shutil.copy(source, project / "migrations/20300101_000000_later.sql")
    (project / "migrations/20300101_000000_later.sql").write_text(
        text.split("BEGIN;")[0] + "BEGIN;\nCREATE TABLE later_t (id int);\nCOMMIT;\n",
        encoding="utf-8",
    )


def test_no_rights_on_the_ledger_is_a_clear_error_everywhere(
    cli, database_url: str, pg_server: TestServer, role: str
) -> None:
    assert cli("deploy", "--env", "local", env={"DATABASE_URL": database_url}).code == 0
    env = {"DATABASE_URL": role_url(pg_server, database_url, role)}
    read = (
        f"role {role} may not read the ledger schema rally_gitops: "
        f"GRANT USAGE ON SCHEMA rally_gitops TO {role}; "
        f"GRANT SELECT ON rally_gitops.applied, rally_gitops.history TO {role}; "
        "(as postgres, the schema's owner)"
    )
    write = (
        f"role {role} may not read the ledger schema rally_gitops: "
        f"GRANT USAGE ON SCHEMA rally_gitops TO {role}; "
        f"GRANT SELECT, INSERT, DELETE ON rally_gitops.applied TO {role}; "
        f"GRANT SELECT, INSERT ON rally_gitops.history TO {role}; "
        "(as postgres, the schema's owner)"
    )

    status = cli("status", env=env)
    assert (status.code, status.out, status.err) == (1, f"local: {read}\n", "")
    named = cli("status", "--env", "local", env=env)
    assert (named.code, named.out, named.err) == (1, "", f"error: {read}\n")
    deploy = cli("deploy", "--env", "local", env=env)
    assert (deploy.code, deploy.out, deploy.err) == (1, "", f"error: {read}\n")
    check = cli("check", "--env", "local", env=env)
    assert check.code == 1 and check.err == ""
    assert check.out.startswith("local: FAILED: local (postgresql://")
    assert check.out.endswith(f"): reachable, but {write}\n")
    assert TEST_PASSWORD not in status.text + named.text + deploy.text + check.text


def test_read_only_role_reads_but_may_not_deploy_and_the_named_grants_suffice(
    cli, project: Path, database_url: str, pg_server: TestServer, role: str
) -> None:
    assert cli("deploy", "--env", "local", env={"DATABASE_URL": database_url}).code == 0
    as_owner(
        database_url,
        f"GRANT USAGE ON SCHEMA rally_gitops TO {role};"
        f"GRANT SELECT ON rally_gitops.applied, rally_gitops.history TO {role};"
        f"GRANT CREATE ON SCHEMA public TO {role}",
    )
    env = {"DATABASE_URL": role_url(pg_server, database_url, role)}
    status = cli("status", env=env)
    assert status.code == 0 and "6 applied, 0 pending" in status.out

    add_migration(project)
    message = (
        f"role {role} may not write the ledger schema rally_gitops: "
        f"GRANT USAGE ON SCHEMA rally_gitops TO {role}; "
        f"GRANT SELECT, INSERT, DELETE ON rally_gitops.applied TO {role}; "
        f"GRANT SELECT, INSERT ON rally_gitops.history TO {role};"
    )
    deploy = cli("deploy", "--env", "local", "--no-backup", env=env)
    assert deploy.code == 1
    assert deploy.err == f"error: {message} (as postgres, the schema's owner)\n"
    assert "later" not in deploy.out  # refused before anything ran
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('later_t')").fetchone() == (None,)
    check = cli("check", "--env", "local", env=env)
    assert check.code == 1 and check.out.endswith(
        f"reachable, but {message} (as postgres, the schema's owner)\n"
    )

    as_owner(database_url, message.split(": ", 1)[1])  # exactly the GRANTs it names
    assert cli("check", "--env", "local", env=env).code == 0
    deploy = cli("deploy", "--env", "local", "--no-backup", env=env)
    assert deploy.code == 0, deploy.text
    assert "1 applied" in deploy.out or "20300101_000000_later" in deploy.out


def test_no_ledger_and_no_create_right_names_the_grant(
    cli, database_url: str, pg_server: TestServer, role: str
) -> None:
    as_owner(
        database_url,
        "REVOKE CREATE ON DATABASE "
        + database_url.split("?")[0].rsplit("/", 1)[1]
        + " FROM PUBLIC",
    )
    env = {"DATABASE_URL": role_url(pg_server, database_url, role)}
    database = database_url.split("?")[0].rsplit("/", 1)[1]
    deploy = cli("deploy", "--env", "local", "--no-backup", env=env)
    assert deploy.code == 1
    assert deploy.err == (
        f"error: role {role} may not create the ledger schema rally_gitops in database "
        f"{database}: GRANT CREATE ON DATABASE {database} TO {role}; (or deploy once with the "
        "database owner's role)\n"
    )
