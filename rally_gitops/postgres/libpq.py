"""A few reads through libpq itself (ctypes), for the commands that must start fast.

``import psycopg`` costs 60-250 ms (it pulls in asyncio, ssl, logging, importlib.metadata and
registers ~80 types), more than the whole of ``status`` is allowed to take. ``status``, a deploy
with nothing pending and the embedded server's database check need a connection and three
catalog/ledger reads: they get them here from the same libpq psycopg would load (the library
bundled with psycopg-binary, else the system's), so connection strings, ``.pgpass``, TLS, SCRAM
and every other libpq behaviour stay libpq's. Everything that writes uses psycopg.

Values come back typed like psycopg's (bool, int, str, aware datetime); other types as text.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

# PQresultStatus values (libpq-fe.h ExecStatusType) and PQstatus' CONNECTION_OK
_COMMAND_OK, _TUPLES_OK, _CONNECTION_OK = 1, 2, 0
_DIAG = {"sqlstate": b"C", "primary": b"M", "detail": b"D"}
_PLACEHOLDER = re.compile(r"%(s|%)")
_BOOL, _INT, _TIMESTAMPTZ = {16}, {20, 21, 23, 26}, {1184}


class Rows(Protocol):
    """The result of one query: what psycopg's cursor and ``Result`` both offer."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Reader(Protocol):
    """A connection that runs a query with ``%s`` parameters: a psycopg connection, or ours."""

    def execute(self, query: Any, params: Any = ..., /) -> Rows: ...


class LibpqError(Exception):
    """A failed connection or query; ``diag`` and ``sqlstate`` as psycopg's errors have them,
    so that ``postgres.db.describe`` formats both alike."""

    def __init__(self, message: str, *, sqlstate: str | None = None, diag: Diag | None = None):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.diag = diag


class Diag:
    """The server's error fields (``message_primary``, ``message_detail``)."""

    def __init__(self, primary: str | None, detail: str | None) -> None:
        self.message_primary = primary
        self.message_detail = detail


class Result:
    """All rows of one query, already converted."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row."""
        return list(self._rows)


class Connection:
    """One libpq connection (``PGconn``); closed by ``close()`` or the ``with`` block."""

    def __init__(self, params: dict[str, str]) -> None:
        """Connect with libpq keywords (``dbname`` may be a whole URL); client_encoding is
        always UTF8, after the URL's own."""
        lib = library()
        params = {**params, "client_encoding": "UTF8"}
        keys = [k.encode() for k in params] + [None]
        values = [v.encode() for v in params.values()] + [None]
        array = ctypes.c_char_p * len(keys)
        # expand_dbname=1: the "dbname" value may be a whole URL or key=value string
        self._pg: int | None = lib.PQconnectdbParams(array(*keys), array(*values), 1)
        if not self._pg:
            raise LibpqError("out of memory")
        if lib.PQstatus(self._pg) != _CONNECTION_OK:
            message = _text(lib.PQerrorMessage(self._pg))
            self.close()
            raise LibpqError(message)
        style = _text(lib.PQparameterStatus(self._pg, b"DateStyle"))
        if not style.startswith("ISO"):  # the timestamps are parsed as ISO 8601
            self.execute("SET DateStyle = ISO")

    def execute(self, query: str, params: Sequence[Any] | None = None, /) -> Result:
        """Run ``query`` (``%s`` placeholders, ``%%`` for ``%`` when ``params`` are given)."""
        lib = library()
        if self._pg is None:
            raise LibpqError("the connection is closed")
        if params is None:
            res = lib.PQexec(self._pg, query.encode())
        else:
            values = [_param(value) for value in params]
            text = _placeholders(query, len(values))
            array = (ctypes.c_char_p * max(len(values), 1))(*values)
            res = lib.PQexecParams(self._pg, text.encode(), len(values), None, array, None, None, 0)
        if not res:
            raise LibpqError(_text(lib.PQerrorMessage(self._pg)) or "no result")
        lib = accessors()  # what follows reads memory: no reason to let go of the GIL
        try:
            status = lib.PQresultStatus(res)
            if status not in (_COMMAND_OK, _TUPLES_OK):
                field = {k: _text(lib.PQresultErrorField(res, ord(v))) for k, v in _DIAG.items()}
                message = _text(lib.PQresultErrorMessage(res)) or field["primary"]
                raise LibpqError(
                    message,
                    sqlstate=field["sqlstate"] or None,
                    diag=Diag(field["primary"] or None, field["detail"] or None),
                )
            return Result(_rows(lib, res))
        finally:
            lib.PQclear(res)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._pg is not None:
            library().PQfinish(self._pg)
            self._pg = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def conninfo_to_dict(conninfo: str) -> dict[str, str]:
    """The parameters of a URL or ``key=value`` string as libpq reads them (``PQconninfoParse``);
    ``LibpqError`` with libpq's reason when it cannot."""
    lib = library()
    error = ctypes.c_char_p()
    options = lib.PQconninfoParse(conninfo.encode(), ctypes.byref(error))
    if not options:
        reason = _text(error.value) if error.value else "out of memory"
        if error.value:
            lib.PQfreemem(error)
        raise LibpqError(reason)
    try:
        found: dict[str, str] = {}
        index = 0
        while options[index].keyword is not None:
            if options[index].val is not None:
                found[_text(options[index].keyword)] = _text(options[index].val)
            index += 1
        return found
    finally:
        lib.PQconninfoFree(options)


class _Option(ctypes.Structure):
    _fields_ = [  # noqa: RUF012 - ctypes' own declaration style
        ("keyword", ctypes.c_char_p),
        ("envvar", ctypes.c_char_p),
        ("compiled", ctypes.c_char_p),
        ("val", ctypes.c_char_p),
        ("label", ctypes.c_char_p),
        ("dispchar", ctypes.c_char_p),
        ("dispsize", ctypes.c_int),
    ]


# the functions that only read a result in memory (``accessors``)
READERS = (
    "PQresultStatus",
    "PQresultErrorMessage",
    "PQresultErrorField",
    "PQntuples",
    "PQnfields",
    "PQftype",
    "PQgetvalue",
    "PQgetisnull",
    "PQclear",
)


def _signatures() -> dict[str, tuple[Any, list[Any]]]:
    """Result and argument types of every libpq function used here."""
    p, s, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    return {
        "PQconnectdbParams": (p, [ctypes.POINTER(s), ctypes.POINTER(s), i]),
        "PQstatus": (i, [p]),
        "PQerrorMessage": (s, [p]),
        "PQparameterStatus": (s, [p, s]),
        "PQfinish": (None, [p]),
        "PQexec": (p, [p, s]),
        "PQexecParams": (p, [p, s, i, p, ctypes.POINTER(s), p, p, i]),
        "PQresultStatus": (i, [p]),
        "PQresultErrorMessage": (s, [p]),
        "PQresultErrorField": (s, [p, i]),
        "PQntuples": (i, [p]),
        "PQnfields": (i, [p]),
        "PQftype": (ctypes.c_uint, [p, i]),
        "PQgetvalue": (s, [p, i, i]),
        "PQgetisnull": (i, [p, i, i]),
        "PQclear": (None, [p]),
        "PQconninfoParse": (ctypes.POINTER(_Option), [s, ctypes.POINTER(s)]),
        "PQconninfoFree": (None, [ctypes.POINTER(_Option)]),
        "PQfreemem": (None, [p]),
    }


def _declare(lib: Any, names: tuple[str, ...] | None = None) -> Any:
    signatures = _signatures()
    for name in names or tuple(signatures):
        function = getattr(lib, name)
        function.restype, function.argtypes = signatures[name]
    return lib


@cache
def library() -> Any:
    """libpq, loaded once, with the signatures of the functions used here."""
    return _declare(ctypes.CDLL(library_path()))


@cache
def accessors() -> Any:
    """libpq's functions that only read a result in memory, called holding the GIL (``PyDLL``):
    a ``CDLL`` call releases and takes it back, thousands of times for a result of a few
    hundred rows, and each time waits for another busy thread (``postgres.db.beside``)."""
    return _declare(ctypes.PyDLL(library()._name), READERS)  # the library loaded already


def library_path() -> str:
    """The libpq psycopg itself uses: the copy bundled with psycopg-binary unless psycopg's C
    implementation (linked to the system's libpq) is installed or ``PSYCOPG_IMPL`` asks for
    another; else the system's."""
    import importlib.util

    impl = os.environ.get("PSYCOPG_IMPL", "").lower()
    if impl in ("", "binary") and (impl or importlib.util.find_spec("psycopg_c") is None):
        spec = importlib.util.find_spec("psycopg_binary")
        if spec is not None and spec.submodule_search_locations:
            package = Path(next(iter(spec.submodule_search_locations)))
            # auditwheel (Linux), delocate (macOS) and delvewheel (Windows) put them here
            libs = (package.parent / "psycopg_binary.libs", package / ".dylibs", package)
            for folder in libs:
                found = sorted(folder.glob("libpq*")) if folder.is_dir() else []
                if found:
                    return str(found[0])
    import ctypes.util

    system = ctypes.util.find_library("pq") or ctypes.util.find_library("libpq")
    if system is None:
        raise LibpqError("libpq not found (install psycopg[binary], or the PostgreSQL client)")
    return system


def _rows(lib: Any, res: int) -> list[tuple[Any, ...]]:
    columns = range(lib.PQnfields(res))
    loaders = [_loader(lib.PQftype(res, col)) for col in columns]
    rows = []
    for row in range(lib.PQntuples(res)):
        values: list[Any] = []
        for col in columns:
            raw = lib.PQgetvalue(res, row, col)
            # an empty string may be NULL: only then ask (half the calls on a typical result)
            if not raw and lib.PQgetisnull(res, row, col):
                values.append(None)
            else:
                values.append(loaders[col](raw))
        rows.append(tuple(values))
    return rows


def _loader(oid: int) -> Any:
    if oid in _BOOL:
        return lambda raw: raw == b"t"
    if oid in _INT:
        return int
    if oid in _TIMESTAMPTZ:
        return _timestamptz
    return _value


def _value(raw: bytes) -> str:
    return raw.decode("utf-8")  # the connection's client_encoding is UTF8


def _timestamptz(raw: bytes) -> dt.datetime:
    """``2026-12-01 12:19:30.5+00`` (DateStyle ISO) as an aware datetime."""
    return dt.datetime.fromisoformat(raw.decode())


def _param(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, (int, str)):
        return str(value).encode()
    raise TypeError(f"cannot send a {type(value).__name__} parameter")


def _placeholders(query: str, count: int) -> str:
    """psycopg's ``%s`` as libpq's ``$1``, ``$2``...; ``%%`` as ``%``."""
    numbers = iter(range(1, count + 1))

    def replace(match: re.Match[str]) -> str:
        if match[1] == "%":
            return "%"
        number = next(numbers, None)
        if number is None:
            raise TypeError(f"the query has more placeholders than the {count} parameter(s)")
        return f"${number}"

    text = _PLACEHOLDER.sub(replace, query)
    if next(numbers, None) is not None:
        raise TypeError(f"the query has fewer placeholders than the {count} parameter(s)")
    return text


def _text(raw: bytes | None) -> str:
    """A message or setting from libpq (never a column value: those keep their spaces)."""
    return raw.decode("utf-8", "replace").strip() if raw else ""
