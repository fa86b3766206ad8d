"""Drift: what was changed by hand on an environment, next to what its ledger says it ran.

The expected schema is exactly the migrations the environment's ledger records, replayed on the
throwaway server (so pending files do not count); a recorded file that is missing or whose
checksum differs is refused, because the expected schema cannot then be rebuilt. The live schema
is compared with it: every object added, changed or dropped since is drift.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.records import Applied
from rally_gitops.errors import ConfigError, DeployError, RallyError
from rally_gitops.files.migrations import Migration, discover
from rally_gitops.postgres.db import Target, beside, connect
from rally_gitops.schema import filters
from rally_gitops.schema import report as report_mod
from rally_gitops.schema.diff import Diff, diff
from rally_gitops.schema.introspect import introspect
from rally_gitops.schema.model import Model, collector_paused
from rally_gitops.schema.sources import replayed_model
from rally_gitops.steps import Report

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Drift:
    """The drift of one environment: the diff from expected to live, and what was replayed."""

    target: Target
    applied: int
    result: Diff

    def __bool__(self) -> bool:
        return bool(self.result)


def detect(
    config: Config,
    target: Target,
    *,
    conn: psycopg.Connection | None = None,
    files: list[Migration] | None = None,
    expected: Expected | None = None,
) -> Drift:
    """Compare ``target``'s live schema with the replay of the migrations its ledger records.

    A deploy passes its own autocommit connection and the files it read (the check then costs
    neither a login nor a second read of the migrations directory), and after applying, what
    ``expect`` replayed meanwhile: used when the ledger records exactly those versions."""
    if conn is None:
        with connect(target.url, autocommit=True, purpose="drift") as own:
            return detect(config, target, conn=own, files=files, expected=expected)
    selection = filters.for_config(config)
    with collector_paused():
        applied = Ledger.for_config(conn, config).applied()
        recorded = recorded_migrations(config, target, applied, files)
        versions = tuple(m.version for m in recorded)
        if expected is None or expected.versions != versions:
            # the replay (a server to start, a template to build) runs while the live schema
            # is read
            expected = replaying(config, recorded)
        live = introspect(conn, selection)
        result = diff(expected.model(), live)
    return Drift(target, len(recorded), result)


class Expected(NamedTuple):
    """The schema some migrations make, being replayed in the background: ``model()`` waits."""

    versions: tuple[str, ...]
    model: Callable[[], Model]


def replaying(config: Config, migrations: list[Migration]) -> Expected:
    """The schema ``migrations`` make, replayed from now on in the background."""
    selection = filters.for_config(config)
    model = beside(partial(replayed_model, config, migrations, selection))
    return Expected(tuple(m.version for m in migrations), model)


def expect(
    config: Config,
    target: Target,
    applied: dict[str, Applied],
    pending: list[Migration],
    files: list[Migration],
) -> Expected | None:
    """Start replaying what ``target``'s ledger records once ``pending`` is applied (none: what
    it records now), so that a deploy's drift check finds it ready: the replay server's work
    (its start, a template to find or build: on a fresh CI runner the whole history's) overlaps
    the deploy's own instead of coming before or after it. None when drift is off or the
    recorded files are not all there (the check then says so itself)."""
    if mode(config) == "off":
        return None
    try:
        recorded = recorded_migrations(config, target, applied, files)
    except RallyError:
        return None
    return replaying(config, sorted([*recorded, *pending], key=lambda m: m.version))


def recorded_migrations(
    config: Config,
    target: Target,
    applied: dict[str, Applied],
    files: list[Migration] | None = None,
) -> list[Migration]:
    """The files of the applied versions (of ``files``, else of the migrations directory), each
    checked against the checksum its ledger row has."""
    by_version = {
        m.version: m for m in (discover(config.migrations_dir) if files is None else files)
    }
    chosen = []
    for version, row in sorted(applied.items()):
        migration = by_version.get(version)
        if migration is None:
            raise RallyError(
                f"{target.env.name}: {row.name} is recorded in its ledger but is not in "
                f"{config.migrations_dir.name}/: drift cannot rebuild the schema it expects "
                "(restore the file from git)"
            )
        if migration.checksum != row.checksum:
            raise RallyError(
                f"{target.env.name}: {migration.filename} was edited after it was applied "
                "(its checksum differs from the ledger's): drift cannot rebuild the schema it "
                "expects; restore the applied version of the file"
            )
        chosen.append(migration)
    return chosen


DRIFT_MODES = ("warn", "fail", "off")
DRIFT_ENV = "RALLY_DRIFT"


def mode(config: Config) -> str:
    """What deploy and smoke do about drift: ``RALLY_DRIFT`` (one CI job can turn it off), else
    ``[tool.rally_gitops] drift``, else ``warn``."""
    override = os.environ.get(DRIFT_ENV, "").strip()
    value = override or config.raw.get("drift", "warn")
    if value not in DRIFT_MODES:
        where = DRIFT_ENV if override else "[tool.rally_gitops] drift"
        raise ConfigError(
            f"{where} = {value!r}: expected one of " + ", ".join(repr(m) for m in DRIFT_MODES)
        )
    return str(value)


def gate(
    config: Config,
    target: Target,
    *,
    report: Report,
    when: str,
    conn: psycopg.Connection | None = None,
    files: list[Migration] | None = None,
    expected: Expected | None = None,
) -> Drift | None:
    """Deploy's drift check (``when``: "before the deploy", "after the deploy"): say what drifted;
    with ``drift = "fail"`` raise ``DeployError``; with ``"off"`` do nothing. ``conn``, ``files``
    and ``expected`` as for ``detect``."""
    chosen = mode(config)
    if chosen == "off":
        return None
    found = detect(config, target, conn=conn, files=files, expected=expected)
    name = target.env.name
    if not found:
        report(f"drift check {when}: none ({name} matches its {found.applied} migration(s))")
        return found
    summary = report_mod.summary(found.result)
    report(f"drift check {when}: {name} differs from its migrations: {summary}")
    for line in report_mod.lines(found.result):
        if line:
            report(f"  {line}")
    if chosen == "fail":
        raise DeployError(
            f"{name} has drifted from the migrations its ledger records ({when}): {summary}; "
            f'see `rally-gitops drift --env {name}`, or set drift = "warn" in [tool.rally_gitops]'
        )
    report('  drift = "warn": going on')
    return found
