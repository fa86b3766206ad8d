"""``rally-gitops workflow``: the guided path from a laptop to staging and then production.

changes in the local database the migrations lack (``generate`` offered) → status of every
environment → lint and validate what staging has pending → deploy staging (with its backup) →
smoke staging → offer production (typed ``YES``) → smoke production.
``--auto`` does the staging half without questions; ``--production`` goes on to production with
the typed confirmation (``--yes`` in CI); ``--generate DESCRIPTION`` generates without asking
(without it, ``--auto``/``--production`` only report local changes). Questions are read from
stdin; end of input means no.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rally_gitops.cli import (
    add_yes,
    ask,
    ask_word,
    confirm,
    confirm_deploy,
    load_config,
    load_migrations,
    out,
    read_line,
)
from rally_gitops.config import Config, command_line
from rally_gitops.delivery import smoke as smoke_mod
from rally_gitops.deploy.pipeline import deploy_pending
from rally_gitops.deploy.status import read_status, status_lines
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.lint import output
from rally_gitops.lint.model import Finding
from rally_gitops.lint.run import history_findings
from rally_gitops.postgres.db import connect, resolve
from rally_gitops.redact import scrub
from rally_gitops.replay.run import replay

STAGING, PRODUCTION = "staging", "production"
PRODUCTION_WORD = "YES"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "workflow", help="guided: status, lint/validate, staging, smoke, then production"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--auto", action="store_true", help="staging only, no questions")
    mode.add_argument(
        "--production",
        action="store_true",
        help="staging then production without questions, except the typed confirmation",
    )
    add_yes(parser)
    parser.add_argument(
        "--generate",
        metavar="DESCRIPTION",
        help="when the local database has changes the migrations lack, generate this migration "
        "without asking",
    )
    parser.set_defaults(
        run=lambda a: workflow(
            load_config(a), auto=a.auto, production=a.production, yes=a.yes, generate=a.generate
        )
    )


def workflow(
    config: Config,
    *,
    auto: bool = False,
    production: bool = False,
    yes: bool = False,
    generate: str | None = None,
) -> int:
    """Walk through the release path; 0 when done or stopped by choice, 1 when a step failed."""
    if yes and not production:
        raise ConfigError("--yes only applies with --production (the production confirmation)")
    if yes:
        # refuse --yes at a terminal now, not after staging has been deployed
        confirm("", PRODUCTION_WORD, yes=True)
    interactive = not (auto or production)
    staging_env = config.environment(STAGING)
    if not os.environ.get(staging_env.url_env):
        raise ConfigError(
            f"the workflow deploys to staging first: set {staging_env.url_env} "
            "(and DATABASE_PUBLIC_URL for production)"
        )
    prod_env = config.environment(PRODUCTION)
    has_production = bool(os.environ.get(prod_env.url_env))
    total = 7

    _header(1, total, "changes in the local database the migrations lack")
    if not _offer_generate(config, interactive=interactive, description=generate):
        return 1

    _header(2, total, "status of every environment")
    _show_status(config, [STAGING, PRODUCTION] if has_production else [STAGING])
    pending = _pending(config, STAGING)

    _header(3, total, "lint and validate the migrations staging has pending")
    if not pending:
        out("nothing pending on staging: skipped")
    elif not _lint_and_validate(config, pending, interactive=interactive):
        out("Stopped before staging: fix the findings above, then run the workflow again.")
        return 1

    _header(4, total, "deploy to staging (a verified backup first)")
    if not pending:
        out("staging is up to date")
    elif interactive and not ask(f"Deploy {len(pending)} migration(s) to staging?"):
        out("Stopped before staging: nothing was deployed.")
        return 0
    else:
        deploy_pending(config, STAGING, report=out, approve=confirm_deploy(config, yes=False))

    # database checks only: the workflow deploys the schema, not the application, so an HTTP
    # check expecting the new commit cannot pass yet (`rally-gitops release` runs those)
    _header(5, total, "smoke-test staging (database)")
    if not _smoke(config, STAGING):
        out("Stopped: staging failed its smoke tests, so production is not offered.")
        return 1

    _header(6, total, "production")
    if auto:
        promote = command_line(config, "workflow", "--production")
        out(f"--auto: production is left alone. Promote with `{promote}`.")
        return 0
    if not has_production:
        out(f"production is not configured ({prod_env.url_env} is not set): done after staging.")
        return 0
    prod_pending = _pending(config, PRODUCTION)
    if not prod_pending:
        out("production is up to date")
    else:
        names = "".join(f"\n  {name}" for name in prod_pending)
        where = resolve(config, PRODUCTION).shown
        prompt = f"Deploy {len(prod_pending)} migration(s) to PRODUCTION ({where}):{names}"
        if interactive:
            if not ask_word(prompt, PRODUCTION_WORD):
                out("Production skipped: nothing was deployed there.")
                return 0
        else:
            confirm(prompt, PRODUCTION_WORD, yes=yes)
        # approve=None: the word was typed once above
        deploy_pending(config, PRODUCTION, report=out, approve=None)

    _header(7, total, "validate production (database smoke tests)")
    if not _smoke(config, PRODUCTION):
        rollback = command_line(config, "rollback", "--env", PRODUCTION)
        backups = command_line(config, "backups", "--env", PRODUCTION)
        out(
            f"Production failed its smoke tests. See `{rollback}` and `{backups}` "
            "for the ways back."
        )
        return 1
    out("Workflow done: staging and production are deployed and pass their smoke tests.")
    return 0


def _offer_generate(config: Config, *, interactive: bool, description: str | None) -> bool:
    """Say what local has that the migrations lack and generate the migration when asked
    (``description``) or, interactively, when the user says so; False when generating failed."""
    from rally_gitops.schema import generation  # loads pglast: not for building the parser

    local = config.environment("local")
    if not os.environ.get(local.url_env) and not (local.embedded and _embedded_runs(config)):
        out(f"local: {local.url_env} is not set and no embedded server runs: nothing to compare")
        return True
    pending = _pending(config, "local")
    if pending:
        deploy = command_line(config, "deploy", "--env", "local")
        out(f"local has {len(pending)} migration(s) not applied: not compared (run `{deploy}`)")
        return True
    changes = generation.local_changes(config)
    if not changes:
        out("local has the schema of the migrations: nothing to generate")
        return True
    out(f"local has {len(changes)} change(s) the migrations lack:")
    out("".join(f"  {line}\n" for line in changes).rstrip("\n"))
    if description is None and interactive and ask("Generate a migration for them now?"):
        description = read_line("Description of the migration: ")
    if not description:
        how = command_line(config, "generate", "DESCRIPTION")
        out(f"Not generated: the changes stay out of the migrations (`{how}` writes them).")
        return True
    try:
        written = generation.generate(config, description, report=out)
    except RallyError as exc:
        print(f"error: {scrub(exc.message)}", file=sys.stderr)
        out("Stopped: no migration was generated; fix the above, then run the workflow again.")
        return False
    if written:
        _record_locally(config, written)
    return True


def _record_locally(config: Config, paths: list[Path]) -> None:
    """The generated files recorded as applied in local's ledger, without running them: local
    already has the change (the proof showed they turn the migrations' schema into local's)."""
    from rally_gitops.deploy.adopt import record_without_running
    from rally_gitops.files.migrations import parse

    record_without_running(config, resolve(config, "local"), [parse(path) for path in paths])
    out(f"local: {len(paths)} migration(s) recorded as applied (local already has the change)")


def _embedded_runs(config: Config) -> bool:
    from rally_gitops.postgres.embedded import local_server

    return local_server(config.state_dir).running() is not None


def _lint_and_validate(config: Config, files: list[str], *, interactive: bool) -> bool:
    paths = [config.migrations_dir / name for name in files]
    for command, check in (("lint", _lint), ("validate", _validate)):
        out(f"$ {command_line(config, command, *paths)}")  # runnable as printed
        try:
            code = check(config, paths)
        except RallyError as exc:
            print(f"error: {scrub(exc.message)}", file=sys.stderr)
            code = exc.exit_code
        if code == 0:
            out(f"{command}: ok")
            continue
        out(f"{command}: FAILED (exit {code})")
        if not (interactive and ask(f"{command} failed. Deploy to staging anyway?")):
            return False
    return True


def _lint(config: Config, paths: list[Path]) -> int:
    """What ``rally-gitops lint FILES`` does, findings as text: 1 when one is an error."""
    from rally_gitops.lint.checker import Checker  # loads pglast: not for building the parser

    checker = Checker(config)
    extra = history_findings(checker, paths, None, note=_note)
    return _print_findings(checker.check(paths, extra=extra), len(paths))


def _validate(config: Config, paths: list[Path]) -> int:
    """What ``rally-gitops validate FILES`` does: replay, the new files round-tripped."""
    migrations = load_migrations(config)
    chosen = {path.resolve() for path in paths}
    new = [m for m in migrations if m.path.resolve() in chosen]
    result = replay(config, migrations, new, with_round_trip=True)
    code = _print_findings(sorted(result.findings, key=Finding.sort_key), len(new))
    cache = "cache hit" if result.cache_hit else "cache built"
    source = f"{result.cached} from the template ({cache})" if result.template else "no template"
    print(
        f"replay on {result.server}: {source}, {result.applied} applied, "
        f"{result.round_trips} round trip(s), {result.seconds:.2f}s" + ("" if code else ", ok"),
        file=sys.stderr,
    )
    return code


def _print_findings(findings: list[Finding], files: int) -> int:
    summary = output.summarise(findings, files)
    sys.stdout.write(output.render("text", findings, summary, None))
    sys.stdout.flush()
    return 1 if summary.errors else 0


def _note(line: str) -> None:
    print(line, file=sys.stderr)


def _smoke(config: Config, env: str) -> bool:
    """The database smoke checks of ``env``, one line each; True when all pass."""
    out(f"Smoke tests of {env} (database only):")
    results = smoke_mod.run(config, env, report=out, http=False)
    failed = [r for r in results if not r.ok]
    if failed:
        out(f"smoke {env}: FAILED {len(failed)} of {len(results)} check(s):")
        for result in failed:
            out(f"  - {result.kind} {result.name}: {result.detail}")
        return False
    out(f"smoke {env}: all {len(results)} check(s) passed")
    return True


def _show_status(config: Config, envs: list[str]) -> None:
    migrations = load_migrations(config)
    for name in envs:
        try:
            target = resolve(config, name)
            with connect(target.url, autocommit=True, purpose="status") as conn:
                result = read_status(conn, config, migrations)
        except RallyError as exc:
            if name == STAGING:
                raise
            out(f"{name}: {exc}")
            continue
        for line in status_lines(name, target.label, result, migrations):
            out(line)


def _pending(config: Config, env: str) -> list[str]:
    target = resolve(config, env)
    with connect(target.url, autocommit=True, purpose="workflow") as conn:
        result = read_status(conn, config, load_migrations(config))
    return [m.filename for m in result.pending]


def _header(number: int, total: int, title: str) -> None:
    out()
    out(f"== {number}/{total} {title} ==")
