"""Database targets and connections: URLs from the environment, errors translated at the edge."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast
from urllib.parse import unquote, urlsplit

from rally_gitops.config import Config, Environment
from rally_gitops.errors import ConfigError, DatabaseError
from rally_gitops.postgres.libpq import Connection as Reader
from rally_gitops.postgres.libpq import LibpqError, conninfo_to_dict
from rally_gitops.redact import password_candidates, password_of, redact_url, register_secret, scrub

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
LOCAL_DATABASE = "rally_local"
CONNECT_TIMEOUT = 10
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class Target(NamedTuple):
    """An environment and the database URL it resolved to (never print ``url``: use ``shown``).

    A NamedTuple, not a dataclass: every command builds the class at start-up, and a frozen
    dataclass costs seven times as much to create."""

    env: Environment
    url: str
    embedded: bool = False

    @property
    def shown(self) -> str:
        """The URL with its password replaced by ``***``."""
        return redact_url(self.url)

    @property
    def label(self) -> str:
        where = "embedded PostgreSQL" if self.embedded else self.shown
        return f"{self.env.name} ({where})"


def resolve(config: Config, env_name: str) -> Target:
    """The target of ``env_name``: its URL variable, or for ``local`` the embedded server."""
    env = config.environment(env_name)
    url = os.environ.get(env.url_env, "").strip()
    if url:
        validate_url(url, env.url_env)
        return Target(env=env, url=url)
    if env.embedded:
        return Target(env=env, url=embedded_url(config), embedded=True)
    raise ConfigError(
        f"environment {env.name!r}: {env.url_env} is not set "
        f"(export {env.url_env}=postgresql://USER:PASSWORD@HOST:5432/DBNAME)"
    )


def validate_url(url: str, variable: str) -> None:
    """A clear usage error for a malformed URL; the message shows it redacted."""
    for secret in password_candidates(url):
        register_secret(secret)
    if not url.startswith(("postgresql://", "postgres://")):
        # never echo the value: a variable that is not a URL may hold a bare password
        scheme = url.split("://", 1)[0] if "://" in url else ""
        got = f"a {scheme}:// URL" if scheme.isalnum() else "a value that is not a URL"
        raise ConfigError(
            f"{variable} must be a postgresql:// URL "
            f"(postgresql://USER:PASSWORD@HOST:5432/DBNAME), got {got}"
        )
    if _ambiguous(url):
        # never echo the URL: which part of it is the password is exactly what is unclear
        raise ConfigError(
            f"{variable} is not a valid PostgreSQL URL: its user or password contains a character "
            "that must be percent-encoded (@ / ? # [ ] or a space); write @ as %40, / as %2F, "
            "? as %3F, # as %23, a space as %20"
        )
    try:
        params = conninfo_to_dict(url)
    except LibpqError as exc:
        raise ConfigError(
            f"{variable} is not a valid PostgreSQL URL ({scrub(url)}): "
            f"{_first_line(scrub(str(exc)))}"
        ) from None
    # libpq only checks these when connecting; a typo there is a usage error, not a failed deploy
    ports = str(params.get("port") or "5432").split(",")
    if not all(p.isdigit() and 0 < int(p) < 65536 for p in ports):
        raise ConfigError(
            f"{variable} is not a valid PostgreSQL URL ({scrub(url)}): "
            f"port {params.get('port')!r} is not a number from 1 to 65535"
        )
    sslmode = params.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise ConfigError(
            f"{variable} is not a valid PostgreSQL URL ({scrub(url)}): "
            f"sslmode={sslmode!r} is not one of {', '.join(SSL_MODES)}"
        )


def embedded_url(config: Config) -> str:
    """Start (or reuse) the project's embedded server and return the URL of its local database."""
    # only for the local environment: staging and production commands never load it
    from rally_gitops.postgres.embedded import local_server

    running = local_server(config.state_dir).ensure_running()
    ensure_database(running.url(LOCAL_DATABASE), running.url("postgres"), LOCAL_DATABASE)
    return running.url(LOCAL_DATABASE)


def ensure_database(url: str, admin_url: str, name: str) -> None:
    """CREATE DATABASE ``name`` (reached by ``url``) unless it exists.

    One connection to the database itself answers it; only when the server says it does not
    exist is the server's ``admin_url`` database asked to create it (through libpq directly:
    the embedded default need not import psycopg for a ``status``).
    """
    try:
        connect_reader(url, purpose="check").close()
        return
    except DatabaseError as exc:
        if f'database "{name}" does not exist' not in str(exc):
            raise
    with connect_reader(admin_url, purpose="create") as conn:
        try:
            conn.execute(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
        except LibpqError as exc:
            if exc.sqlstate != "42P04":  # duplicate_database: a concurrent creator won the race
                raise DatabaseError(f"cannot create database {name}: {describe(exc)}") from None


def connect_reader(url: str, *, purpose: str = "", options: str | None = None) -> Reader:
    """A connection through libpq directly, for reads (``status``, a deploy with nothing
    pending): the same URL, options and error messages as ``connect``, without psycopg's
    import time (see ``postgres.libpq``)."""
    register_secret(_password(url))
    params = {"dbname": url, **_session(url, purpose, options)}
    try:
        return Reader(params)
    except LibpqError as exc:
        raise DatabaseError(f"cannot connect to {redact_url(url)}: {describe(exc)}") from None


def from_url(config: Config, env_name: str) -> bool:
    """True when ``env_name`` resolves to its URL variable's value (set), so that ``resolve``
    starts no server: its connection can be made ``beside`` other work. The URL's password is
    registered as a secret at once, before anything the caller prints next."""
    try:
        env = config.environment(env_name)
    except ConfigError:
        return False  # ``resolve`` says so, where the caller asks it
    url = os.environ.get(env.url_env, "").strip()
    for secret in password_candidates(url) if url else ():
        register_secret(secret)
    return bool(url)


def beside(work: Callable[[], T]) -> Callable[[], T]:
    """``work()`` run in a thread while the caller goes on; the function returned waits for it
    and gives its result, or raises what it raised (the caller sees the errors it would see
    calling ``work`` itself, where it asks for the result).

    For a connection and its reads (``connect_reader``): libpq's calls release the GIL, so the
    login (a SCRAM exchange, a backend to start) and the queries overlap the caller's own work,
    such as reading the migration files. A daemon thread: a caller that fails meanwhile exits
    without waiting for a slow server.
    """
    import threading  # here: most commands never read beside

    answer: list[tuple[T | None, BaseException | None]] = []

    def run() -> None:
        try:
            answer.append((work(), None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            answer.append((None, exc))

    thread = threading.Thread(target=run, name="rally-gitops reader", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        value, error = answer[0]
        if error is not None:
            raise error
        return cast(T, value)

    return result


def _session(url: str, purpose: str, options: str | None) -> dict[str, str]:
    """The libpq keywords every connection of ours adds to the URL's own."""
    app = f"rally-gitops{(' ' + purpose) if purpose else ''} {os.getpid()}@{_host()}"
    params = {"connect_timeout": str(CONNECT_TIMEOUT), "application_name": app[:63]}
    if options:
        params["options"] = _with_options(url, options)
    return params


def connect(
    url: str, *, autocommit: bool = False, purpose: str = "", options: str | None = None
) -> psycopg.Connection:
    """Open a connection; failures become one line naming the redacted URL and the cause.

    ``options`` are libpq startup options (``-c name=value``): the session's own defaults.
    """
    import psycopg

    _quiet_psycopg()
    register_secret(_password(url))
    try:
        params: dict[str, Any] = _session(url, purpose, options)
        return psycopg.connect(url, autocommit=autocommit, **params)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to {redact_url(url)}: {describe(exc)}") from None


def _host() -> str:
    # what socket.gethostname() returns on POSIX, without importing socket (3 ms)
    return os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")


@cache
def _quiet_psycopg() -> None:
    """psycopg logs "error ignored terminating <psycopg.Pipeline ...>: pipeline aborted" when a
    pipeline that raised also fails to end; the caller reports the error itself, and with no
    logging configured Python's last-resort handler would print that line on stderr."""
    import logging

    logging.getLogger("psycopg").addHandler(logging.NullHandler())


def describe(exc: BaseException) -> str:
    """A one-line, secret-free description of a database error: the server's message with its
    detail and SQLSTATE when the server sent one, else libpq's reason (the one formatter of
    PostgreSQL errors: deploy, replay, smoke checks and connections all use it)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if primary:
        detail = getattr(diag, "message_detail", None)
        state = getattr(exc, "sqlstate", None)
        text = f"{primary}" + (f" ({detail})" if detail else "")
        return scrub(" ".join(text.split()) + (f" [SQLSTATE {state}]" if state else ""))
    text = str(exc).strip()
    for prefix in ("connection failed: ", "connection to server "):
        text = text.removeprefix(prefix)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # libpq repeats the attempt per address: the last "... failed: REASON" line carries the reason,
    # optionally followed by a hint ("Is the server running on that host...?")
    failed = [i for i, ln in enumerate(lines) if "failed:" in ln]
    if failed:
        reason = lines[failed[-1]].split("failed:", 1)[1].strip()
        hint = " ".join(lines[failed[-1] + 1 :])
        if hint and "failed:" not in hint:
            reason = f"{reason}; {hint[0].lower()}{hint[1:]}" if reason else hint
    else:
        reason = lines[-1] if lines else type(exc).__name__
    reason = reason.removeprefix("FATAL:").strip()
    return scrub(reason)


def _with_options(url: str, options: str) -> str:
    """The URL's own ``options`` (kept: a keyword argument would replace them), then ours."""
    own = str(conninfo_to_dict(url).get("options") or "").strip()
    return f"{own} {options}".strip()


def server_version(conn: psycopg.Connection) -> str:
    """``18.6`` style version of the server."""
    row = conn.execute("SHOW server_version").fetchone()
    assert row is not None  # SHOW always returns one row
    return str(row[0]).split()[0]


def _ambiguous(url: str) -> bool:
    """True when libpq and a URL parser would disagree on the user or password.

    libpq takes the first ``@`` as the end of the password, RFC 3986 the authority's last one; an
    unencoded ``/``, ``?`` or ``#`` ends the authority early for one and not the other.
    """
    rest = url.split("://", 1)[1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if authority.count("@") > 1 or re.search(r"[\s\[\]]", authority.rpartition("@")[0]):
        return True
    if "@" in rest.split("?", 1)[0][len(authority) :]:
        return True  # "u:Pw/ss9@host/db": the "@" landed in the database name
    try:
        libpq = conninfo_to_dict(url)
        parts = urlsplit(url)
    except (LibpqError, ValueError):  # unparsable: the caller reports libpq's own reason
        return False
    user = unquote(parts.username) if parts.username else None
    if user is not None and libpq.get("user") != user:
        return True
    return libpq.get("password") != _password(url)


def _password(url: str) -> str | None:
    return password_of(url)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
