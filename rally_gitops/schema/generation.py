"""``generate``'s work, for the command and the guided ``workflow``: the migration that turns
the ``source`` schema (the committed migrations, by default) into the ``target``'s (the local
database), proved both ways on the throwaway server, then written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rally_gitops.config import Config
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.files.migrations import discover, uncomment
from rally_gitops.files.template import slugify
from rally_gitops.schema import filters, hazards, report, sources
from rally_gitops.schema.diff import diff

if TYPE_CHECKING:
    from rally_gitops.schema import renames


def generate(
    config: Config,
    description: str,
    *,
    report: Callable[[str], None],
    source: str = "migrations",
    target: str = "local",
    rename: list[str] | None = None,
    allow_data_loss: bool = False,
    dry_run: bool = False,
    online: bool | None = None,
    schemas: list[str] | None = None,
    exclude: list[str] | None = None,
    now: dt.datetime | None = None,
) -> list[Path]:
    """Verify and write the migration, saying what is done through ``report``; the files
    written (or, with ``dry_run``, that would be), none when there is nothing to generate."""
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
        report(f"nothing to generate: {left.label} and {right.label} have the same schema")
        return []
    for hint in hazards.possible_renames(forward):
        report(f"possible rename: --rename {hint}")
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
    parts = files.enum_values_first(
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
            report(f"-- {path.name}")
            report(text.rstrip("\n"))
            continue
        config.migrations_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        count = sum(1 for line in part.up if not line.startswith("--"))
        report(f"created {path} ({count} statement(s), verified up and down)")
    for table, reason in proof.unseeded:
        report(f"note: no row could be seeded in {table} ({reason}): its rows were not checked")
    return [path for path, _ in written]


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


def local_changes(config: Config) -> list[str]:
    """What the local database has that the migrations lack, as report lines (empty: the
    same schema): what ``generate`` with its defaults would write a migration for."""
    selection = filters.for_config(config)
    left, right = sources.load_pair(config, sources.MIGRATIONS, "local", selection)
    return [line for line in report.lines(diff(left.model, right.model)) if line]
