"""``rally-gitops release --env E``: check → backup + schema → application → health → smoke.

Schema first, application after it: the migrations must be compatible with the running
application (expand/contract), so the new code only starts once its schema is there. A failing
step stops the chain; the report says what was done and how to undo it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from rally_gitops.backup import store as backup_store
from rally_gitops.backup.settings import settings as backup_settings
from rally_gitops.cli import add_env, add_yes, confirm, load_config, load_migrations, out
from rally_gitops.config import Config
from rally_gitops.delivery import release as release_mod
from rally_gitops.delivery import smoke as smoke_mod
from rally_gitops.delivery.release import AppDeploy
from rally_gitops.deploy import promotion
from rally_gitops.deploy.check import check_one
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.pipeline import deploy_pending
from rally_gitops.deploy.status import read_status, refuse_unsafe
from rally_gitops.errors import DeployError, RallyError
from rally_gitops.files.migrations import Migration
from rally_gitops.postgres.db import Target, connect, resolve
from rally_gitops.redact import scrub
from rally_gitops.steps import Report, run_step

PRODUCTION_WORD = "PRODUCTION"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "release", help="deploy schema then application, wait until healthy, smoke-test"
    )
    add_env(parser)
    add_yes(parser)
    parser.add_argument(
        "--no-backup",
        action="store_true",
        help="skip the backup before the schema deploy (refused for production unless allowed)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="run the check, show the plan, change nothing"
    )
    parser.set_defaults(
        run=lambda a: release(
            load_config(a), a.env, yes=a.yes, no_backup=a.no_backup, dry_run=a.dry_run
        )
    )


class AppState(Enum):
    """What this release did to the application, for the rollback advice."""

    NOT_CHANGED = "not changed"
    FAILED_TO_START = "failed to start"
    TRIGGERED = "triggered"


@dataclass
class Progress:
    """What this release has done so far: the basis of the rollback advice."""

    env: str
    total: int
    applied: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    app: AppState = AppState.NOT_CHANGED
    done: list[str] = field(default_factory=list)

    def step(self, title: str, func: Callable[[Report], str]) -> None:
        """Run the next numbered step; on failure report what was done, then raise naming it."""
        number = len(self.done) + 1
        try:
            summary = run_step(number, self.total, title, func)
        except RallyError as exc:
            _report_failure(self, number, self.total, title, exc)
            raise RallyError(
                f"release to {self.env} stopped at step {number}/{self.total} ({title}): {exc}",
                exit_code=exc.exit_code,
            ) from None
        self.done.append(f"{title}: {summary}")


def release(
    config: Config, env: str, *, yes: bool = False, no_backup: bool = False, dry_run: bool = False
) -> int:
    """Run the release chain for ``env``; exit 0, or raise naming the failed step."""
    # every configuration problem (exit 2) surfaces before anything runs
    app = release_mod.resolve(config, env)
    if app.smoke:
        smoke_mod.http_probes(config, env)
    target = resolve(config, env)
    progress = Progress(env, total=5)
    pending: list[Migration] = []
    out(f"Release to {target.label}, commit {(app.sha or 'unknown')[:12]}")
    out(f"  application deploy: {app.trigger}")

    def check(_report: Report) -> str:
        line = check_one(config, env)
        pending[:] = _pending(config, target)
        if target.env.production:
            # refused before the confirmation is asked for, not after it
            promotion.check(config, target.env, pending)
        return f"{line.removeprefix('ok, ')}; {len(pending)} migration(s) pending"

    def schema(report: Report) -> str:
        before = _applied(config, target)
        backups_before = _backups(config, env)
        try:
            # approve=None: the production confirmation was asked once for the whole release
            deploy_pending(config, env, report=report, approve=None, no_backup=no_backup)
        finally:
            after = _applied(config, target, default=before)
            progress.applied = [after[v] for v in sorted(set(after) - set(before))]
            progress.backups = [b for b in _backups(config, env) if b not in backups_before]
        backup = f", backup {progress.backups[-1]}" if progress.backups else ""
        return f"{len(progress.applied)} migration(s) applied{backup}"

    def application(report: Report) -> str:
        if app.hook_url or app.command:
            progress.app = AppState.FAILED_TO_START
        summary = release_mod.trigger(app, config, report)
        if app.hook_url or app.command:
            progress.app = AppState.TRIGGERED
        return summary

    def smoke(report: Report) -> str:
        if not app.smoke:
            return "skipped (smoke = false)"
        results = smoke_mod.run(config, env, report=report)
        failed = [r for r in results if not r.ok]
        if failed:
            names = ", ".join(f"{r.kind} {r.name}" for r in failed)
            raise DeployError(f"{len(failed)} of {len(results)} smoke check(s) failed: {names}")
        return f"all {len(results)} check(s) passed"

    progress.step("check", check)
    if dry_run:
        _print_plan(config, env, app, pending)
        return 0
    if target.env.production:
        confirm(
            f"About to release commit {(app.sha or 'unknown')[:12]} to PRODUCTION "
            f"({target.shown}): {len(pending)} migration(s), then the application "
            f"({app.trigger}).",
            PRODUCTION_WORD,
            yes=yes,
        )
    progress.step("backup + deploy schema", schema)
    progress.step("deploy application", application)
    progress.step("wait for health", lambda report: release_mod.wait_healthy(app, report))
    progress.step("smoke", smoke)
    out(f"Release to {env} done: {'; '.join(progress.done[1:])}")
    return 0


def _print_plan(config: Config, env: str, app: AppDeploy, pending: list[Migration]) -> None:
    out("Dry run, nothing was changed. The release would:")
    names = "".join(f"\n      {m.filename}" for m in pending)
    out(f"  2. back up {env}, then apply {len(pending)} migration(s){names}")
    out(f"  3. deploy the application: {app.trigger}")
    if app.health is None:
        out("  4. not wait for a health URL (none configured)")
    else:
        wanted = (
            f", until {app.health.json_field} = {app.health.expect}"
            if app.health.json_field
            else ""
        )
        out(f"  4. poll {app.health.name} for up to {app.health.deadline:g}s{wanted}")
    if not app.smoke:
        out("  5. skip the smoke tests (smoke = false)")
        return
    sql = len(list(smoke_mod.checks_dir(config).glob("*.sql")))
    http = len(smoke_mod.http_probes(config, env))
    out(f"  5. smoke-test {env}: the ledger, {sql} SQL check(s), {http} HTTP check(s)")


def _report_failure(
    progress: Progress, number: int, total: int, title: str, exc: RallyError
) -> None:
    env = progress.env

    def say(line: str) -> None:  # the error text may quote a URL or a response body
        out(scrub(line))

    say(f"Release to {env} FAILED at step {number}/{total} ({title}): {exc}")
    say("What was done:")
    for line in progress.done or ["nothing"]:
        say(f"  - {line}")
    say("How to roll back:")
    if progress.app is AppState.TRIGGERED:
        say(
            "  - the application deploy was triggered: roll the application back on its "
            "platform first (redeploy the previous release)"
        )
    elif progress.app is AppState.FAILED_TO_START:
        say(
            "  - the application deploy did not start cleanly: check on its platform that the "
            "previous release still runs"
        )
    else:
        say("  - the application was not changed")
    if progress.applied:
        steps = len(progress.applied)
        say(f"  - the schema: {steps} migration(s) applied by this release:")
        for name in progress.applied:
            say(f"      {name}")
        say(
            f"    undo them with their rollback sections: rally-gitops rollback --env {env} "
            f"--steps {steps}"
        )
        if progress.backups:
            say(
                f"    or restore the backup taken before: rally-gitops restore --env {env} "
                f"{progress.backups[-1]}"
            )
        if progress.app is AppState.TRIGGERED:
            say("    (roll the application back before the schema it may already depend on)")
    else:
        say("  - the schema was not changed by this release")


def _applied(
    config: Config, target: Target, default: dict[str, str] | None = None
) -> dict[str, str]:
    """Version → name of every migration in the ledger (empty when there is no ledger yet)."""
    try:
        with connect(target.url, autocommit=True, purpose="release") as conn:
            ledger = Ledger.for_config(conn, config)
            rows = ledger.applied() if ledger.exists() else {}
            return {version: row.name for version, row in rows.items()}
    except RallyError:
        if default is None:
            raise
        return dict(default)


def _pending(config: Config, target: Target) -> list[Migration]:
    with connect(target.url, autocommit=True, purpose="release") as conn:
        status = read_status(conn, config, load_migrations(config))
    refuse_unsafe(status, allow_out_of_order=False, env=target.env.name)
    return status.pending


def _backups(config: Config, env: str) -> list[str]:
    """Names of the backups of ``env``, oldest first."""
    directory = backup_settings(config).directory(config.root, env)
    return [s.stem for s in backup_store.list_sets(directory, env)]
