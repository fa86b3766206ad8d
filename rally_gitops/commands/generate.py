"""``rally-gitops generate DESCRIPTION``: write the migration that turns the committed migrations'
schema (``--from``) into the local database's (``--to``), proved both ways before it is written."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from rally_gitops.cli import SOURCE_HELP, add_selection, load_config, out
from rally_gitops.config import Config
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.files.migrations import discover, uncomment
from rally_gitops.files.template import slugify
from rally_gitops.schema import filters, hazards, sources
from rally_gitops.schema.diff import diff
from rally_gitops.schema.online import Part, split
from rally_gitops.schema.plan import Plan, plan
from rally_gitops.schema.verify import source_copy, verify

HEADER = "-- Migration: {name}\n-- Description: {description}\n-- Generated: {generated}\n"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "generate", help="write the migration for what the local database has and migrations lack"
    )
    parser.add_argument("description", help="what the migration does, e.g. 'add preferences'")
    parser.add_argument("--from", dest="source", default="migrations", help=SOURCE_HELP)
    parser.add_argument("--to", dest="target", default="local", help=SOURCE_HELP)
    parser.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="KIND:OLD=NEW",
        help="a drop and an add that are one rename: table:public.a=b, column:public.t.a=b",
    )
    parser.add_argument(
        "--allow-data-loss", action="store_true", help="write drops and narrowing type changes"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the files, write nothing")
    parser.add_argument(
        "--no-online",
        dest="online",
        action="store_false",
        default=None,
        help="one plain file (default: indexes CONCURRENTLY, constraints NOT VALID then VALIDATE)",
    )
    add_selection(parser)
    parser.set_defaults(
        run=lambda a: generate(
            load_config(a),
            a.description,
            source=a.source,
            target=a.target,
            rename=a.rename,
            allow_data_loss=a.allow_data_loss,
            dry_run=a.dry_run,
            online=a.online,
            schemas=a.schemas,
            exclude=a.exclude,
        )
    )


def generate(
    config: Config,
    description: str,
    *,
    source: str = "migrations",
    target: str = "local",
    rename: list[str] | None = None,
    allow_data_loss: bool = False,
    dry_run: bool = False,
    online: bool | None = None,
    schemas: list[str] | None = None,
    exclude: list[str] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Verify and write the migration; 0 when written or nothing to generate."""
    # renames, the planner and the verifier load pglast: not for building the parser
    from rally_gitops.schema import renames
    from rally_gitops.schema.plan import plan
    from rally_gitops.schema.verify import source_copy, verify

    description = " ".join(description.split())
    slug = slugify(description)
    asked = [renames.parse(spec) for spec in rename or []]
    selection = filters.for_config(config, schemas=schemas, exclude=exclude)
    left = sources.load(config, source, selection)
    right = sources.load(config, target, selection)
    renamed = left.model
    for item in asked:
        renamed = renames.apply(renamed, item)
    forward = diff(renamed, right.model)
    if not forward and not asked:
        out(f"nothing to generate: {left.label} and {right.label} have the same schema")
        return 0
    for hint in hazards.possible_renames(forward):
        out(f"possible rename: --rename {hint}")
    up = plan(renamed, right.model, forward, tuple(r.statement() for r in asked))
    back = right.model
    for item in reversed(asked):
        back = renames.apply(
            back, renames.Rename(item.kind, item.schema, item.table, item.new, item.old)
        )
    down = plan(back, left.model, diff(back, left.model), _back(asked))
    if up.hazards and not allow_data_loss:
        listed = "; ".join(up.hazards)
        raise RallyError(
            f"refusing to write a migration that loses data ({listed}); "
            "pass --allow-data-loss to write it anyway"
        )
    migrations = discover(config.migrations_dir) if source == sources.MIGRATIONS else None
    parts = split(up, down, renamed) if _online(config, online) else [_plain(up, down)]
    with source_copy(config, left.model, migrations) as url:
        proof = verify(
            config,
            url,
            selection,
            source=left.model,
            target=right.model,
            ups=[(_up_text(p), p.no_transaction) for p in parts],
            downs=[(uncomment(_down_text(p)), p.no_transaction) for p in reversed(parts)],
            keeps_rows=not up.hazards,
        )
    stamp = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0, tzinfo=None)
    stamp = _free_stamp(config.migrations_dir, stamp, len(parts))
    for i, part in enumerate(parts):
        version = (stamp + dt.timedelta(seconds=i)).strftime("%Y%m%d_%H%M%S")
        path = config.migrations_dir / f"{version}_{slug}{part.suffix}.sql"
        text = HEADER.format(name=path.stem, description=description, generated=stamp.isoformat())
        text += "-- rally:no-transaction\n" if part.no_transaction else ""
        if i == 0:
            text += "".join(f"-- irreversible: {line}\n" for line in proof.irreversible)
        text += "\n" + _up_text(part) + "\n-- Rollback script (uncomment if needed):\n"
        text += _down_text(part)
        if dry_run:
            out(f"-- {path.name}")
            out(text.rstrip("\n"))
            continue
        config.migrations_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        count = sum(1 for line in part.up if not line.startswith("--"))
        out(f"created {path} ({count} statements, verified up and down)")
    return 0


def _online(config: Config, asked: bool | None) -> bool:
    """``--no-online``, else ``[tool.rally_gitops.generate] online`` (default true)."""
    if asked is not None:
        return asked
    value = config.section("generate").get("online", True)
    if not isinstance(value, bool):
        raise ConfigError("[tool.rally_gitops.generate] online must be true or false")
    return value


def _plain(up: Plan, down: Plan) -> Part:
    return Part("", up=up.sql().rstrip("\n").split("\n"), down=down.sql().rstrip("\n").split("\n"))


def _up_text(part: Part) -> str:
    body = "\n".join(part.up) + "\n"
    return body if part.no_transaction else "BEGIN;\n\n" + body + "\nCOMMIT;\n"


def _down_text(part: Part) -> str:
    lines = [line for line in part.down if line]
    if not part.no_transaction:
        lines = ["BEGIN;", "", *lines, "", "COMMIT;"]
    return "".join(f"-- {line}\n" if line else "-- \n" for line in lines)


def _back(asked: list[renames.Rename]) -> tuple[str, ...]:
    """The renames undone, last first (the rollback's prelude)."""
    return tuple(
        type(r)(r.kind, r.schema, r.table, r.new, r.old).statement() for r in reversed(asked)
    )


def _free_stamp(directory: Path, stamp: dt.datetime, count: int) -> dt.datetime:
    """The first second from ``stamp`` on with ``count`` free seconds in a row."""
    taken = {p.name[:15] for p in directory.glob("*.sql")} if directory.is_dir() else set()

    def free(at: dt.datetime) -> bool:
        return all(
            (at + dt.timedelta(seconds=i)).strftime("%Y%m%d_%H%M%S") not in taken
            for i in range(count)
        )

    while not free(stamp):
        stamp += dt.timedelta(seconds=1)
    return stamp
