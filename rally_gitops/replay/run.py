"""Layer 4, replay: apply every migration in order on a throwaway PostgreSQL, as a deploy would.

The migrations older than the oldest *new* file (the prefix) are applied once into a template
database named after a hash of their checksums; later runs clone it with ``CREATE DATABASE x
TEMPLATE t`` and apply only the new files, so checking one new file on top of hundreds costs one
clone and one migration. When the prefix grew (the previous new file is now committed), its
template is the previous prefix's, extended with the files added since. Each new file also
gets a round trip: its rollback section, then the file again (a failure there is a warning).
Migrations run through the deploy engine's ``Applier`` and ``Ledger``: replay == deploy.

The server is ``RALLY_REPLAY_DATABASE_URL`` when set (its database is only the maintenance
connection: replay creates and drops ``rally_replay_*`` databases on that server and touches no
other), else the embedded server in ``.rally/replay-pgdata``, left running for the next run.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from rally_gitops import __version__
from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.errors import DatabaseError
from rally_gitops.files.migrations import Migration
from rally_gitops.lint.model import Finding
from rally_gitops.postgres.db import connect, describe, validate_url
from rally_gitops.postgres.embedded import EmbeddedServer
from rally_gitops.redact import redact_url
from rally_gitops.replay import cache, spare, watchdog
from rally_gitops.replay.cache import PREFIX, REPLAY_ENV, TEMPLATE
from rally_gitops.replay.observe import MigrationMeasure, Observer
from rally_gitops.replay.settings import idle_timeout, server_bin
from rally_gitops.replay.steps import ReplayFailure, apply_checked, round_trip

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class ReplayServer:
    """Where replay databases are created: a maintenance URL and a label safe to print."""

    admin_url: str
    label: str
    embedded: bool = False
    data_dir: Path | None = None  # an embedded server's, which its watchdog stops when idle

    def url(self, database: str) -> str:
        """The maintenance URL pointed at ``database`` (same host, user and options)."""
        parts = urlsplit(self.admin_url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"]
        return urlunsplit(
            parts._replace(path="/" + quote(database), query=urlencode(query, safe="/"))
        )


@dataclass
class ReplayResult:
    """What one replay did: findings, how many migrations came from the cache or were applied."""

    findings: list[Finding] = field(default_factory=list)
    cached: int = 0
    applied: int = 0
    round_trips: int = 0
    cache_hit: bool = False
    extended_from: int = 0  # built from the template of this many migrations (0: from zero)
    from_spare: bool = False  # the work database was a ready copy (replay/spare.py)
    template: str | None = None
    server: str = ""
    seconds: float = 0.0
    measures: list[MigrationMeasure] = field(default_factory=list)  # of the new migrations


def replay_server(config: Config) -> ReplayServer:
    """``RALLY_REPLAY_DATABASE_URL``, else the project's replay embedded server (started)."""
    url = os.environ.get(REPLAY_ENV, "").strip()
    if url:
        validate_url(url, REPLAY_ENV)
        return ReplayServer(url, redact_url(url))

    installation = server_bin(config)
    if installation is not None:
        # its own data directory: another major version cannot run the embedded one's
        digest = hashlib.sha256(str(installation).encode()).hexdigest()[:8]
        data = config.state_dir / f"replay-pgdata-{digest}"
        running = EmbeddedServer(data, fast=True, bin_path=installation).ensure_running()
        watchdog.watch(data, idle_timeout(config))  # it stops the server when idle
        label = f"the PostgreSQL in {installation}"
        return ReplayServer(running.url("postgres"), label, embedded=True, data_dir=data)
    data = watchdog.data_dir(config)
    running = EmbeddedServer(data, fast=True).ensure_running()
    watchdog.watch(data, idle_timeout(config))
    return ReplayServer(
        running.url("postgres"), "the embedded PostgreSQL", embedded=True, data_dir=data
    )


def cache_key(config: Config, prefix: list[Migration]) -> str:
    """A hash of everything that shapes the template: tool version, ledger schema, checksums."""
    return prefix_keys(config, prefix)[-1]


def prefix_keys(config: Config, prefix: list[Migration]) -> list[str]:
    """``cache_key`` of ``prefix[:0]``, ``prefix[:1]``, ... ``prefix``: one hash, extended."""
    digest = hashlib.sha256(f"{__version__}\0{config.ledger_schema}\0".encode())
    keys = [digest.hexdigest()[:24]]
    for migration in prefix:
        digest.update(f"{migration.name}\0{migration.checksum}\0".encode())
        keys.append(digest.hexdigest()[:24])
    return keys


def replay(
    config: Config,
    migrations: list[Migration],
    new: list[Migration],
    *,
    with_round_trip: bool = True,
    measure: bool = True,
) -> ReplayResult:
    """Replay ``migrations`` (sorted) treating ``new`` as the files under test; see the module.
    With ``measure``, each new file's first apply is observed (``ReplayResult.measures``).

    Failures of a migration are findings; a failure of the replay server itself (connection
    lost, disk full, no right to create databases) raises ``DatabaseError``.
    """
    import psycopg

    server = replay_server(config)
    try:
        return _replay(config, server, migrations, new, with_round_trip, measure)
    except psycopg.Error as exc:
        raise DatabaseError(f"replay on {server.label}: {describe(exc)}") from None
    finally:
        if server.data_dir is not None:
            watchdog.touch(server.data_dir)  # the idle time counts from here


def _replay(
    config: Config,
    server: ReplayServer,
    migrations: list[Migration],
    new: list[Migration],
    with_round_trip: bool,
    measure: bool,
) -> ReplayResult:
    started = time.perf_counter()
    new_versions = {m.version for m in new}
    oldest = min(new_versions, default=None)
    prefix = [m for m in migrations if oldest is None or m.version < oldest]
    rest = [m for m in migrations if oldest is not None and m.version >= oldest]
    result = ReplayResult(server=server.label)
    observer = Observer(result.measures) if measure else None
    work = f"{PREFIX}run_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with connect(server.admin_url, autocommit=True, purpose="replay") as admin:
        with cache.advisory_lock(admin):
            try:
                template, result.cache_hit, result.extended_from = template_database(
                    admin, server, config, prefix
                )
            except ReplayFailure as failure:  # a committed migration fails: nothing is cached
                result.findings.append(failure.finding(server.label))
                result.seconds = time.perf_counter() - started
                return result
            gained = _work_database(admin, server, config, prefix, template, work)
            result.from_spare = gained is not None
            gained = gained or []
            cache.evict(admin, keep=template, local=server.embedded)
        result.template, result.cached = template, len(prefix)
        # on the embedded server the work database is dropped in the background, which then
        # makes the next replay's copy (replay/spare.py)
        background = server.data_dir if template is not None else None
        try:
            with connect(server.url(work), autocommit=True, purpose="replay") as conn:
                steps = _Rest(config, server, new_versions, with_round_trip, observer)
                steps.apply(conn, [*gained, *rest], result, known=len(gained))
        except BaseException:
            background = None
            raise
        finally:
            if background is None:
                cache.drop_database(admin, work)
    if background is not None and template is not None:
        spare.refill(background, template, drop=work)
    result.seconds = time.perf_counter() - started
    return result


def _work_database(
    admin: psycopg.Connection,
    server: ReplayServer,
    config: Config,
    prefix: list[Migration],
    template: str | None,
    work: str,
) -> list[Migration] | None:
    """Create ``work`` holding ``prefix``: from the embedded server's spare copy of a template
    when there is one (replay/spare.py; returns the migrations of the prefix it lacks, to apply
    in it), else as a copy of ``template`` (returns None)."""
    if server.embedded and template is not None:
        names = [TEMPLATE + key for key in prefix_keys(config, prefix)]
        start = cache.take_spare(admin, names, work)
        if start is not None:
            return prefix[start:]
    cache.create_database(admin, work, template)
    return None


@dataclass(frozen=True)
class _Rest:
    """How the migrations after the prefix are applied: the new ones round-tripped and, with an
    observer, measured."""

    config: Config
    server: ReplayServer
    new_versions: set[str]
    with_round_trip: bool
    observer: Observer | None

    def apply(
        self, conn: psycopg.Connection, rest: list[Migration], result: ReplayResult, known: int = 0
    ) -> None:
        """Apply ``rest`` in order into ``result``; stop at the first failure (a finding). The
        ``known`` first ones are the prefix's, which a spare copy lacked: applied, not counted."""
        if rest:
            Ledger.for_config(conn, self.config).ensure()
        for number, migration in enumerate(rest):
            new = migration.version in self.new_versions
            observer = self.observer
            if observer is not None and not new:  # known to the observer, not measured
                observer = observer.quiet()
            try:
                apply_checked(conn, self.config, migration, observer)
            except ReplayFailure as failure:
                result.findings.append(failure.finding(self.server.label))
                return  # later files would only fail for the same reason
            result.applied += number >= known
            if self.with_round_trip and new:
                warning = round_trip(conn, self.config, migration, self.observer)
                result.round_trips += migration.rollback is not None
                if warning is not None:
                    result.findings.append(warning)


def template_database(
    admin: psycopg.Connection, server: ReplayServer, config: Config, prefix: list[Migration]
) -> tuple[str | None, bool, int]:
    """(template holding ``prefix`` applied, cache hit?, how many migrations of it came from the
    template it was extended from); built under the caller's lock, from the longest cached
    template of a shorter prefix when there is one (the previous commit's)."""
    if not prefix:
        return None, True, 0
    names = [TEMPLATE + key for key in prefix_keys(config, prefix)]  # names[i]: prefix[:i]
    name = names[-1]
    start = cache.longest_cached(admin, names)
    if start == len(prefix):
        cache.stamp(admin, name, len(prefix))
        return name, True, 0
    building = f"{cache.BUILDING}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if start:
        # the shorter prefix's template becomes this one: extended in place, because a copy
        # costs more than applying the few new files (CREATE DATABASE ... TEMPLATE checkpoints
        # and copies every file). A branch still on the shorter prefix rebuilds it once.
        cache.rename_database(admin, names[start], building)
    else:
        cache.create_database(admin, building, None)
    try:
        with connect(server.url(building), autocommit=True, purpose="replay") as conn:
            if not start:
                Ledger.for_config(conn, config).ensure()
            for migration in prefix[start:]:
                apply_checked(conn, config, migration)
        cache.publish(admin, building, name)
    except BaseException:
        cache.drop_database(admin, building)
        raise
    cache.stamp(admin, name, len(prefix))
    return name, False, start
