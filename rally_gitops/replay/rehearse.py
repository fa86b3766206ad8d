"""Rehearsal: apply an environment's pending migrations to a restored copy of its backup.

The pending set and every refusal are the deploy's (``pipeline.checked_status``, read on the
environment, which is never written to); the copy is a scratch database on the replay server,
restored from the newest backup that verifies (or the one named), and the migrations go through
the deploy's ``Applier`` under the deploy lock, with an ``Observer`` measuring each statement.
A copy restored from a backup older than the environment's ledger is first brought to the
environment's state (the migrations deployed since, unmeasured). The scratch database is dropped
afterwards, whatever happens; its data stays on this machine (the replay server must be local).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rally_gitops.backup import store as backup_store
from rally_gitops.backup.ledger_check import ledger_sql
from rally_gitops.backup.restore import restore_backup
from rally_gitops.backup.settings import settings as backup_settings
from rally_gitops.backup.store import BackupSet
from rally_gitops.backup.take import take_backup
from rally_gitops.config import Config
from rally_gitops.deploy import promotion
from rally_gitops.deploy.applier import Applier
from rally_gitops.deploy.failure import OutcomeUnknown
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.lock import deploy_lock, lock_key
from rally_gitops.deploy.pipeline import checked_status
from rally_gitops.deploy.session import session_options
from rally_gitops.deploy.status import read_status
from rally_gitops.errors import ConfigError, DatabaseError, DeployError, Interrupted, RallyError
from rally_gitops.files.migrations import Migration, discover, file_limit
from rally_gitops.postgres.db import Target, connect, describe, resolve
from rally_gitops.replay import cache
from rally_gitops.replay.cache import PREFIX, REPLAY_ENV
from rally_gitops.replay.observe import MigrationMeasure, Observer
from rally_gitops.replay.run import ReplayServer, replay_server
from rally_gitops.steps import Report

if TYPE_CHECKING:
    import psycopg

# Asked before a backup of the environment is taken because it has none; False stops the run.
AgreeToBackup = Callable[[Target], bool]
SCRATCH = PREFIX + "rehearse_"  # + <pid>_<random>: the replay cache drops it if we are killed
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


@dataclass
class Rehearsal:
    """What one rehearsal did; ``failure`` is the deploy's message when a migration failed."""

    env: str
    pending: list[Migration] = field(default_factory=list)
    backup: BackupSet | None = None
    kind: str = ""
    server: str = ""
    restore_seconds: float = 0.0
    caught_up: list[Migration] = field(default_factory=list)
    in_backup: list[Migration] = field(default_factory=list)  # pending here, applied in the copy
    measures: list[MigrationMeasure] = field(default_factory=list)
    failed: Migration | None = None
    failure: str | None = None
    seconds: float = 0.0


def rehearse(
    config: Config, env: str, *, backup: str | None, agree: AgreeToBackup, report: Report
) -> Rehearsal:
    """Rehearse the pending migrations of ``env`` on a copy of its backup; see the module.

    Raises ``RallyError`` when the rehearsal cannot run (refused as a deploy would be, no
    backup, the copy cannot be made); a migration failing on the copy is ``failure``.
    """
    started = time.perf_counter()
    migrations = discover(config.migrations_dir, file_limit(config))
    target = resolve(config, env)
    result = Rehearsal(env)
    # read only: the rehearsal must not be able to write to the environment, even by mistake
    read_only = "-c default_transaction_read_only=on"
    with connect(target.url, autocommit=True, purpose="rehearse", options=read_only) as conn:
        ledger = Ledger.for_config(conn, config)
        status = checked_status(
            conn, config, target, migrations, ledger, allow_out_of_order=False, report=report
        )
    result.pending = list(status.pending)
    if not result.pending:
        return result
    if target.env.production:
        promotion.check(config, target.env, result.pending)
    server = replay_server(config)
    refuse_remote(server)
    result.server = server.label
    result.backup = _choose_backup(config, target, backup, agree, report)
    _rehearse_on_copy(config, server, migrations, result, report)
    result.seconds = time.perf_counter() - started
    return result


def refuse_remote(server: ReplayServer) -> None:
    """A backup's data never leaves this machine: the replay server must run here."""
    if server.embedded:
        return
    from psycopg.conninfo import conninfo_to_dict

    hosts = str(conninfo_to_dict(server.admin_url).get("host") or "").split(",")
    remote = [h for h in hosts if h not in _LOCAL_HOSTS and not h.startswith("/")]
    if remote:
        raise ConfigError(
            f"rehearse restores a backup's data, which stays on this machine: {REPLAY_ENV} "
            f"points at {remote[0]}; use a server on localhost or a Unix socket, or unset it "
            "for the embedded one"
        )


def _choose_backup(
    config: Config, target: Target, ref: str | None, agree: AgreeToBackup, report: Report
) -> BackupSet:
    """The backup named by ``ref``, else the newest of the environment that verifies, else a
    new one (only if ``agree``)."""
    directory = backup_settings(config).directory(config.root, target.env.name)
    if ref is not None:
        chosen = backup_store.find(directory, target.env.name, ref)
        backup_store.verify(chosen)
        return chosen
    sets = backup_store.list_sets(directory, target.env.name)
    for candidate in reversed(sets):
        try:
            backup_store.verify(candidate)
        except RallyError as exc:
            report(f"skipped backup {candidate.stem}: {exc}")
            continue
        return candidate
    if sets:
        raise RallyError(
            f"no backup of {target.env.name} in {directory} verifies (see above); take one "
            f"with `rally-gitops backup --env {target.env.name}`"
        )
    if not agree(target):
        raise ConfigError(
            f"{target.env.name} has no backup in {directory} to rehearse on; take one with "
            f"`rally-gitops backup --env {target.env.name}`, or pass --yes to take it first"
        )
    return take_backup(config, target, kinds=("full",), reason="for rehearse", report=report)


def _rehearse_on_copy(
    config: Config,
    server: ReplayServer,
    migrations: list[Migration],
    result: Rehearsal,
    report: Report,
) -> None:
    import psycopg

    assert result.backup is not None
    scratch = f"{SCRATCH}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with connect(server.admin_url, autocommit=True, purpose="rehearse") as admin:
            cache.create_database(admin, scratch, None)
            try:
                _restore(config, server, scratch, result, report)
                url = server.url(scratch)
                options = session_options(config)
                with connect(url, autocommit=True, purpose="rehearse", options=options) as conn:
                    _apply(conn, config, migrations, result, report)
            except KeyboardInterrupt:
                raise Interrupted(
                    f"interrupted: the copy was dropped; nothing was written to {result.env}"
                ) from None
            finally:
                cache.drop_database(admin, scratch)
    except psycopg.Error as exc:
        raise DatabaseError(f"rehearse on {server.label}: {describe(exc)}") from None


def _restore(
    config: Config, server: ReplayServer, scratch: str, result: Rehearsal, report: Report
) -> None:
    assert result.backup is not None
    chosen, started = result.backup, time.perf_counter()
    report(f"Restoring {chosen.stem} ({chosen.head}) into a scratch database on {server.label}")
    url = server.url(scratch)
    with connect(url, autocommit=True, purpose="rehearse") as conn:
        postamble = ledger_sql(
            conn, config.ledger_schema, chosen, [], f"rehearsal copy of {chosen.stem}", config.root
        )
        result.kind = restore_backup(
            chosen,
            url,
            conn,
            owners=False,  # the replay server has none of the environment's roles
            configured=backup_settings(config).pg_dump,
            postamble=postamble,
        )
    result.restore_seconds = time.perf_counter() - started


def _apply(
    conn: psycopg.Connection,
    config: Config,
    migrations: list[Migration],
    result: Rehearsal,
    report: Report,
) -> None:
    """Bring the copy to the environment's state, then apply its pending ones, measured."""
    ledger = Ledger.for_config(conn, config)
    on_copy = {m.version for m in read_status(conn, config, migrations, ledger).pending}
    wanted = {m.version for m in result.pending}
    result.caught_up = [m for m in migrations if m.version in on_copy - wanted]
    result.in_backup = [m for m in result.pending if m.version not in on_copy]
    rehearsed = [m for m in result.pending if m.version in on_copy]
    with deploy_lock(conn, config.ledger_schema, config.deploy_lock_wait):
        ledger.ensure()
        lock = lock_key(config.ledger_schema)
        if result.caught_up:
            report(
                f"Bringing the copy to {result.env}'s state: {len(result.caught_up)} migration(s) "
                "deployed after the backup was taken (not measured)"
            )
            try:
                Applier(conn, config, report=report, lock=lock).apply_all(
                    result.caught_up, lambda _m, _ms: None
                )
            except DeployError as exc:
                raise DeployError(
                    f"the copy could not be brought to {result.env}'s state: {exc}"
                ) from None
        observer = Observer()
        applied: list[Migration] = []
        try:
            Applier(conn, config, report=report, lock=lock, observer=observer).apply_all(
                rehearsed, lambda migration, _ms: applied.append(migration)
            )
        except OutcomeUnknown as exc:
            raise DatabaseError(f"rehearse: {exc}") from None
        except DeployError as exc:  # the very message a deploy gives, and what it would leave
            result.failed = rehearsed[len(applied)]
            before = (
                f"{len(applied)} of {len(rehearsed)} migration(s) applied before the failure"
                if applied
                else "nothing would be applied"
            )
            result.failure = f"{exc}\non the copy of {result.env}: {before}"
        result.measures = list(observer.measures)
