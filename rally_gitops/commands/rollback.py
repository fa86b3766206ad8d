"""``rally-gitops rollback --env E [--steps N | --to VERSION]``: undo the newest migrations."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rally_gitops.backup import store as backup_store
from rally_gitops.backup.settings import check_no_backup, settings
from rally_gitops.backup.take import backup_before_change
from rally_gitops.cli import add_env, add_yes, confirm, load_config, load_migrations, out
from rally_gitops.config import Config
from rally_gitops.deploy import rollback as engine
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.lock import deploy_lock
from rally_gitops.errors import DeployError
from rally_gitops.postgres.db import connect, resolve

if TYPE_CHECKING:
    from rally_gitops.deploy.rollback import Plan, Step


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "rollback",
        help="run the rollback sections of the newest applied migrations (no target: list options)",
    )
    add_env(parser)
    add_yes(parser)
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--steps", type=int, metavar="N", help="roll back the newest N migrations")
    target.add_argument(
        "--to", metavar="VERSION", help="roll back every migration newer than VERSION (0: all)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would run; change nothing"
    )
    parser.add_argument(
        "--no-backup",
        action="store_true",
        help="skip the backup before rolling back (refused for production)",
    )
    parser.set_defaults(
        run=lambda a: rollback(
            load_config(a),
            a.env,
            steps=a.steps,
            to=a.to,
            dry_run=a.dry_run,
            yes=a.yes,
            no_backup=a.no_backup,
        )
    )


def rollback(
    config: Config,
    env: str,
    *,
    steps: int | None = None,
    to: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    no_backup: bool = False,
) -> int:
    """Roll back by script, newest first; exit 0, or raise where it has to stop."""
    migrations = load_migrations(config)
    target = resolve(config, env)
    with connect(target.url, autocommit=True, purpose="rollback") as conn:
        ledger = Ledger.for_config(conn, config)
        if steps is None and to is None:
            show_options(
                config,
                env,
                target.label,
                engine.steps_back(ledger.applied(), {m.version: m for m in migrations}),
            )
            return 0
        blocked = ledger.blocking_event()
        if blocked is not None:
            raise DeployError(
                f"{env}: {blocked.name} failed outside a transaction; fix it and run "
                f"`rally-gitops repair --env {env}` before rolling back"
            )
        chosen = engine.plan(ledger.applied(), migrations, steps=steps, to=to)
        describe_plan(env, target.label, chosen)
        if dry_run:
            out("dry run: nothing was rolled back")
            return 0
        if not chosen.steps:
            raise _stopped(env, chosen, done=0)
        check_no_backup(config, target.env, no_backup)
        if target.env.production:
            confirm(
                f"About to roll back {len(chosen.steps)} migration(s) on {target.label}.",
                "ROLLBACK",
                yes=yes,
            )
        with deploy_lock(conn, config.ledger_schema, config.deploy_lock_wait):
            again = engine.plan(ledger.applied(), migrations, steps=steps, to=to)
            if [s.applied.version for s in again.steps] != [
                s.applied.version for s in chosen.steps
            ]:
                raise DeployError(
                    f"{env}: the ledger changed meanwhile; nothing was rolled back, "
                    "run the command again"
                )
            backup_before_change(config, target, no_backup=no_backup, what="rollback", report=out)
            out(f"Rolling back {len(chosen.steps)} migration(s) on {target.label}")
            for step in chosen.steps:
                engine.run_step(conn, config, step, out)
    if chosen.stop is not None:
        raise _stopped(env, chosen, done=len(chosen.steps))
    out(f"Done: {len(chosen.steps)} migration(s) rolled back on {env}")
    return 0


def describe_plan(env: str, label: str, chosen: Plan) -> None:
    """What a rollback will run, newest first, and where it stops."""
    steps = chosen.steps
    out(f"{label}: {len(steps)} migration(s) would be rolled back, newest first:")
    for step in steps:
        assert step.migration is not None  # a step without its file is a stop, not a step
        count = len(step.migration.rollback_statements())
        out(f"  {step.name}  ({count} statement(s))")
    stop = chosen.stop
    if stop is not None:
        out(f"  STOP before {stop.name}: {stop.problem}")


def show_options(config: Config, env: str, label: str, steps: list[Step]) -> None:
    """The seed's "view rollback options": what a script can undo, then the backups."""
    out(f"{label}: {len(steps)} applied migration(s), newest first")
    reachable = True
    for step in steps:
        if step.problem is None and reachable:
            mark = "can roll back"
        elif step.problem is None:
            mark = "behind a stop"
        else:
            mark = "STOP: " + step.problem
            reachable = False
        out(f"  {mark:<48} {step.name}")
    possible = next((i for i, s in enumerate(steps) if s.problem is not None), len(steps))
    out(f"By script: up to {possible} step(s) (rally-gitops rollback --env {env} --steps N).")
    directory = settings(config).directory(config.root, env)
    for line in backup_store.backup_lines(
        env, directory, list(reversed(backup_store.list_sets(directory, env)))
    ):
        out(line)
    out(f"From a backup: rally-gitops restore --env {env} BACKUP")


def _stopped(env: str, chosen: Plan, *, done: int) -> DeployError:
    stop = chosen.stop
    assert stop is not None  # only called where the plan has a stop
    return DeployError(
        f"rollback stopped before {stop.name}: {stop.problem}, so it cannot be rolled back by "
        f"script ({done} of {chosen.wanted} step(s) done). To go further back, restore a "
        f"backup: `rally-gitops restore --env {env} BACKUP` (list: `rally-gitops backups --env "
        f"{env}`)."
    )
