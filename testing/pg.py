"""A real PostgreSQL for the tests: the embedded server, or ``RALLY_TEST_DATABASE_URL``."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from rally_gitops.postgres.embedded import EmbeddedServer

TEST_PASSWORD = "Pw-s3cret-4711"  # the tests check that this string never leaks anywhere


@dataclass
class TestServer:
    """Creates and drops databases on one server; gives socket (trust) and TCP (password) URLs."""

    __test__ = False  # a helper whose name starts with Test, not a test class for pytest

    admin_url: str
    tcp_host: str
    tcp_port: int
    embedded: EmbeddedServer | None = None

    def url(self, database: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def create_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def password_url(self, database: str, role: str = "rally_pw_user") -> str:
        """A TCP URL for ``role`` (created with ``TEST_PASSWORD``, owner of ``database``)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(TEST_PASSWORD)
                )
            )
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(database), sql.Identifier(role)
                )
            )
        return f"postgresql://{role}:{TEST_PASSWORD}@{self.tcp_host}:{self.tcp_port}/{database}"


def start(base: Path) -> TestServer:
    """The server named by RALLY_TEST_DATABASE_URL, else a fresh embedded one under ``base``."""
    external = os.environ.get("RALLY_TEST_DATABASE_URL")
    if external:
        parts = urlsplit(external)
        return TestServer(
            admin_url=external, tcp_host=parts.hostname or "127.0.0.1", tcp_port=parts.port or 5432
        )
    server = EmbeddedServer(base / "pgdata", fast=True)
    running = server.ensure_running()
    return TestServer(
        admin_url=running.url("postgres"),
        tcp_host="127.0.0.1",
        tcp_port=running.port,
        embedded=server,
    )
