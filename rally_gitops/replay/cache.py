"""The replay's template cache: throwaway and template databases on the replay server.

Templates are named ``rally_replay_tpl_<hash of the prefix>``, stamped with their last use in
their database comment; the ``KEEP_TEMPLATES`` most recently used survive eviction. A missing
template is made from the longest cached template of a shorter prefix when there is one (the
previous commit's): that one is renamed and only the migrations after it are applied. Creation,
cloning and eviction happen under one session advisory lock, so concurrent replays (pre-commit
runs hooks in parallel) never clone a half-built or evicted template.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from rally_gitops.errors import DatabaseError
from rally_gitops.postgres.db import describe
from rally_gitops.postgres.embedded import pid_alive

if TYPE_CHECKING:
    from collections.abc import Iterator

    import psycopg

REPLAY_ENV = "RALLY_REPLAY_DATABASE_URL"
PREFIX = "rally_replay_"
TEMPLATE = PREFIX + "tpl_"
BUILDING = PREFIX + "bld_"  # a template being built or extended: <pid>_<random>
SPARE = PREFIX + "spr_"  # a ready copy of a template (replay/spare.py): spare_name(template)
KEEP_TEMPLATES = 3  # a few prefixes (branches) stay warm; older ones are evicted
# a database as CREATE DATABASE makes it, kept to be read: the schema of no migrations (the drift
# check before a deploy to a fresh database); never written, never evicted
EMPTY = PREFIX + "empty"
LOCK_KEY = 0x52A11E  # pg_advisory_lock key guarding template creation, cloning and eviction


def publish(admin: psycopg.Connection, building: str, name: str) -> None:
    """Publish a finished build; when another replay (locking in another maintenance database)
    published the same prefix first, keep theirs."""
    import psycopg

    try:
        admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    except psycopg.errors.DuplicateDatabase:
        drop_database(admin, building)


def longest_cached(admin: psycopg.Connection, names: list[str]) -> int:
    """The largest ``i`` whose template ``names[i]`` exists (``names[i]`` holds a prefix's first
    ``i`` migrations); 0 when none does.

    A template of a shorter prefix is the start of the next one: the commit before added a
    migration or two, so extending its template with those beats building from zero.
    One query for all of them (the full prefix included: a cache hit).
    """
    return _longest(names, databases(admin, TEMPLATE))


def databases(admin: psycopg.Connection, prefix: str) -> set[str]:
    """The names of the databases that start with ``prefix`` (one query)."""
    rows = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s",
        (prefix.replace("_", r"\_") + "%",),
    ).fetchall()
    return {row[0] for row in rows}


def _longest(names: list[str], existing: set[str]) -> int:
    """The largest ``i`` >= 1 with ``names[i]`` in ``existing``; 0 when there is none."""
    return next((i for i in range(len(names) - 1, 0, -1) if names[i] in existing), 0)


def rename_database(admin: psycopg.Connection, name: str, new: str) -> None:
    """ALTER DATABASE ``name`` RENAME TO ``new`` (no session may be connected to it)."""
    admin.execute(f'ALTER DATABASE "{name}" RENAME TO "{new}"')


def create_database(admin: psycopg.Connection, name: str, template: str | None) -> None:
    """CREATE DATABASE ``name`` as a copy of ``template`` (template0 when None)."""
    import psycopg

    source = template or "template0"
    strategy = " STRATEGY = FILE_COPY" if admin.info.server_version >= 150000 else ""
    try:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"{strategy}')
    except psycopg.Error as exc:
        if exc.sqlstate == "42501":
            raise DatabaseError(
                f"the role in {REPLAY_ENV} may not create databases; replay creates and drops "
                f"{PREFIX}* databases on that server: grant it CREATEDB"
            ) from None

        raise DatabaseError(f"replay: cannot create database {name}: {describe(exc)}") from None


def empty_database(admin: psycopg.Connection) -> str:
    """``EMPTY``, created the first time: each read of an empty schema used to copy template0
    (a checkpoint, 0.3 s of a deploy on a small machine) and drop the copy."""

    def exists() -> bool:
        query = "SELECT FROM pg_database WHERE datname = %s"
        return admin.execute(query, (EMPTY,)).fetchone() is not None

    if not exists():
        try:
            create_database(admin, EMPTY, None)
        except DatabaseError:
            if not exists():  # else another replay, locking in another database, made it
                raise
    return EMPTY


def drop_database(admin: psycopg.Connection, name: str) -> None:
    """DROP DATABASE ``name`` (forcing out stray sessions); failures are ignored: cleanup."""
    force = " WITH (FORCE)" if admin.info.server_version >= 130000 else ""
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"{force}')
    except Exception:  # noqa: BLE001 - cleanup must not hide the real outcome; evicted later
        pass


def stamp(admin: psycopg.Connection, name: str, count: int) -> None:
    """Stamp the template with its last use (eviction keeps the most recently used)."""
    text = f"rally-gitops replay cache: {count} migration(s); used {time.time():.3f}"
    admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{text}'")


def evict(admin: psycopg.Connection, *, keep: str | None, local: bool) -> None:
    """Drop all but the ``KEEP_TEMPLATES`` most recently used templates, the half-built ones of
    a killed replay, and, on the embedded server (where process ids are ours to check), the
    other databases a killed replay left. The caller holds ``advisory_lock``."""
    rows = admin.execute(
        "SELECT d.datname, coalesce(shobj_description(d.oid, 'pg_database'), ''), "
        "EXISTS (SELECT FROM pg_stat_activity a WHERE a.datname = d.datname) "
        "FROM pg_database d WHERE d.datname LIKE %s",
        (PREFIX.replace("_", r"\_") + "%",),
    ).fetchall()
    templates = sorted(
        ((_used(comment), name) for name, comment, _ in rows if name.startswith(TEMPLATE)),
        reverse=True,
    )
    for _, name in templates[KEEP_TEMPLATES:]:
        if name != keep:
            drop_database(admin, name)
    # a template is built (or extended) only under the lock our caller holds now: one still
    # being built with no session on it is a killed builder's, on any server (a deploy's drift
    # check that was cut off, a cancelled CI job), where process ids cannot tell
    for name, _, busy in rows:
        if name.startswith(BUILDING) and not busy:
            drop_database(admin, name)
    for name, _, _ in rows if local else ():
        parts = name.split("_")  # rally_replay_run_<pid>_<random>
        if not name.startswith((TEMPLATE, SPARE)) and len(parts) >= 4 and parts[3].isdigit():
            if not pid_alive(int(parts[3])):
                drop_database(admin, name)


def spare_name(template: str) -> str:
    """The name of ``template``'s spare copy: the same key."""
    return SPARE + template.removeprefix(TEMPLATE)


def take_spare(admin: psycopg.Connection, names: list[str], work: str) -> int | None:
    """Rename the spare of the longest template ``names[i]`` (a prefix's first ``i`` migrations)
    to ``work`` and return ``i``; None when there is none. Its key says what it holds, whatever
    became of the template since."""
    copies = [spare_name(name) for name in names]
    index = _longest(copies, databases(admin, SPARE))
    if not index:
        return None
    admin.execute(f'ALTER DATABASE "{copies[index]}" RENAME TO "{work}"')
    return index


def _used(comment: str) -> float:
    try:
        return float(comment.rsplit("used ", 1)[1])
    except (IndexError, ValueError):
        return 0.0


@contextlib.contextmanager
def advisory_lock(conn: psycopg.Connection) -> Iterator[None]:
    """Session advisory lock: concurrent replays (pre-commit runs hooks in parallel) queue here."""
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # the lock dies with the session anyway
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
