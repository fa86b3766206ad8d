"""``rally-gitops generate DESCRIPTION``: write the migration that turns the committed migrations'
schema (``--from``) into the local database's (``--to``), proved both ways before it is written."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING

from rally_gitops.cli import SOURCE_HELP, add_selection, load_config, out
from rally_gitops.config import Config
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.files.migrations import discover, uncomment
from rally_gitops.files.template import slugify
from rally_gitops.schema import filters, hazards, sources
from rally_gitops.schema.diff import diff

if TYPE_CHECKING:
    from rally_gitops.schema import renames


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
    from rally_gitops.schema import migration_files as files
    from rally_gitops.schema import renames
    from rally_gitops.schema.online import split
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
    parts = (
        split(up, down, renamed, right.model)
        if _online(config, online)
        else [files.plain(up, down)]
    )
    with source_copy(config, left.model, migrations) as url:
        proof = verify(
            config,
            url,
            selection,
            source=left.model,
            target=right.model,
            ups=[(files.up_text(p), p.no_transaction) for p in parts],
            downs=[(uncomment(files.down_text(p)), p.no_transaction) for p in reversed(parts)],
            keeps_rows=not up.hazards,
        )
    stamp = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0, tzinfo=None)
    stamp = files.free_stamp(config.migrations_dir, stamp, len(parts))
    written = files.render(
        parts,
        config.migrations_dir,
        slug=slug,
        description=description,
        stamp=stamp,
        irreversible=proof.irreversible,
    )
    for (path, text), part in zip(written, parts, strict=True):
        if dry_run:
            out(f"-- {path.name}")
            out(text.rstrip("\n"))
            continue
        config.migrations_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        count = sum(1 for line in part.up if not line.startswith("--"))
        out(f"created {path} ({count} statements, verified up and down)")
    for table, reason in proof.unseeded:
        out(f"note: no row could be seeded in {table} ({reason}): its rows were not checked")
    return 0


def _online(config: Config, asked: bool | None) -> bool:
    """``--no-online``, else ``[tool.rally_gitops.generate] online`` (default true)."""
    if asked is not None:
        return asked
    value = config.section("generate").get("online", True)
    if not isinstance(value, bool):
        raise ConfigError("[tool.rally_gitops.generate] online must be true or false")
    return value


def _back(asked: list[renames.Rename]) -> tuple[str, ...]:
    """The renames undone, last first (the rollback's prelude)."""
    return tuple(
        type(r)(r.kind, r.schema, r.table, r.new, r.old).statement() for r in reversed(asked)
    )
