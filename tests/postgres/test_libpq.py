"""The libpq reader (``postgres.libpq``) against a real server, side by side with psycopg."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict as psycopg_conninfo

from rally_gitops.errors import DatabaseError
from rally_gitops.postgres import libpq
from rally_gitops.postgres.db import connect_reader, describe, ensure_database
from testing.pg import TestServer

ROW = (
    "SELECT true, false, 42::int4, 9000000000::int8, 7::int2, ' spaced text ', NULL::text,"
    " 'é'::varchar, current_user, '2026-12-01 12:19:30.12345+00'::timestamptz,"
    " '1.5'::numeric, '{1,2}'::int[]"
)


def test_values_come_back_as_psycopg_returns_them(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        expected = conn.execute(ROW).fetchone()
    with connect_reader(database_url) as reader:
        got = reader.execute(ROW).fetchone()
    assert got is not None and expected is not None
    # the types psycopg converts and the ledger reads use: the same Python values
    assert got[:10] == expected[:10]
    assert got[5] == " spaced text " and got[6] is None
    assert got[9] == dt.datetime(2026, 12, 1, 12, 19, 30, 123450, tzinfo=dt.UTC)
    # the others as PostgreSQL's text
    assert got[10:] == ("1.5", "{1,2}")


def test_timestamps_in_the_session_time_zone_and_another_date_style(database_url: str) -> None:
    options = "options=-c%20TimeZone%3DAsia/Kolkata%20-c%20DateStyle%3DSQL,DMY"
    url = f"{database_url}{'&' if '?' in database_url else '?'}{options}"
    with connect_reader(url) as reader:
        (value,) = reader.execute("SELECT '2026-12-01 12:00:00+00'::timestamptz").fetchall()[0]
        assert reader.execute("SHOW DateStyle").fetchone() == ("ISO, DMY",)
    assert value == dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assert value.strftime("%H:%M %z") == "17:30 +0530"  # the wall time psycopg would show


def test_parameters_as_psycopg_sends_them(database_url: str) -> None:
    query = "SELECT %s::text, %s::int, %s::bool, %s::text IS NULL, '100%%'"
    with connect_reader(database_url) as reader:
        rows = reader.execute(query, ("a'b", 5, True, None)).fetchall()
        assert reader.execute("SELECT '%%'").fetchall() == [("%%",)]  # no params: sent as is
        with pytest.raises(TypeError, match="more placeholders than the 1 parameter"):
            reader.execute("SELECT %s, %s", (1,))
        with pytest.raises(TypeError, match="fewer placeholders than the 2 parameter"):
            reader.execute("SELECT %s", (1, 2))
    assert rows == [("a'b", 5, True, True, "100%")]


def test_a_failed_query_carries_the_server_fields(database_url: str) -> None:
    with connect_reader(database_url) as reader:
        with pytest.raises(libpq.LibpqError) as caught:
            reader.execute("SELECT * FROM no_such_table")
        # the connection stays usable after an error
        assert reader.execute("SELECT 1").fetchall() == [(1,)]
    assert caught.value.sqlstate == "42P01"
    assert describe(caught.value) == ('relation "no_such_table" does not exist [SQLSTATE 42P01]')


def test_a_refused_connection_is_one_line_naming_the_redacted_url() -> None:
    url = "postgresql://app:s3cretpw@127.0.0.1:1/app?connect_timeout=2"
    with pytest.raises(DatabaseError) as caught:
        connect_reader(url)
    message = str(caught.value)
    assert message.startswith("cannot connect to postgresql://app:***@127.0.0.1:1/app")
    assert "Connection refused" in message and "s3cretpw" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p%40ss@db.example:6543/app?sslmode=require&options=-c%20a%3Db",
        "postgresql://u@/app?host=/tmp/sock&port=5433",
        "host=db port=5432 dbname=app user=u password='x y'",
        "postgres://h1:1,h2:2/app?target_session_attrs=read-write",
    ],
)
def test_urls_are_parsed_as_psycopg_parses_them(url: str) -> None:
    assert libpq.conninfo_to_dict(url) == psycopg_conninfo(url)


def test_an_unparsable_url_gives_libpqs_reason() -> None:
    with pytest.raises(libpq.LibpqError, match='invalid URI query parameter: "nosuch"'):
        libpq.conninfo_to_dict("postgresql://h/db?nosuch=1")


def test_ensure_database_creates_it_once(pg_server: TestServer) -> None:
    name = "rally_ensure_probe"
    pg_server.drop_database(name)
    url, admin = pg_server.url(name), pg_server.url("postgres")
    try:
        ensure_database(url, admin, name)
        ensure_database(url, admin, name)  # there now: the probe connection answers
        with connect_reader(admin) as reader:
            found = reader.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            assert found.fetchall() == [(1,)]
    finally:
        pg_server.drop_database(name)


def test_ensure_database_passes_on_other_failures() -> None:
    url = "postgresql://u@127.0.0.1:1/x?connect_timeout=2"
    with pytest.raises(DatabaseError, match="Connection refused"):
        ensure_database(url, url, "x")


def test_the_library_is_psycopgs_own() -> None:
    """The copy of libpq psycopg-binary bundles (the one psycopg itself loads here)."""
    path = libpq.library_path()
    assert "psycopg_binary" in path and "libpq" in path
    proc = subprocess.run(
        [sys.executable, "-c", "import psycopg; print(psycopg.pq.__impl__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "binary"


def test_reading_a_result_keeps_the_gil() -> None:
    """Only connecting and the queries let other threads run (``postgres.db.beside``); the
    thousands of calls that read a result's cells keep the GIL instead of handing it back and
    waiting for it each time (ctypes' ``PyDLL`` functions, flagged ``FUNCFLAG_PYTHONAPI``)."""
    import ctypes

    pythonapi = ctypes._FUNCFLAG_PYTHONAPI
    for name in ("PQgetvalue", "PQgetisnull", "PQntuples", "PQresultStatus", "PQclear"):
        assert getattr(libpq.accessors(), name)._flags_ & pythonapi, name
    for name in ("PQconnectdbParams", "PQexec", "PQexecParams"):
        assert not getattr(libpq.library(), name)._flags_ & pythonapi, name
