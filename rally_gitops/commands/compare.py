"""``rally-gitops compare SRC DST``: the schema differences between two databases or histories."""

from __future__ import annotations

import argparse
import json

from rally_gitops.cli import SOURCE_HELP, add_selection, load_config, out
from rally_gitops.config import Config
from rally_gitops.errors import ConfigError
from rally_gitops.schema import filters, report, sources
from rally_gitops.schema.diff import Diff, diff
from rally_gitops.schema.model import Model, collector_paused


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("compare", help="compare the schemas of two databases or histories")
    parser.add_argument("source", metavar="SRC", help=SOURCE_HELP)
    parser.add_argument("target", metavar="DST", help=SOURCE_HELP)
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="machine-readable output")
    shape.add_argument(
        "--markdown",
        action="store_true",
        help="a Markdown section with a table and a Mermaid diagram (for pull requests)",
    )
    shape.add_argument(
        "--sql", action="store_true", help="the SQL that turns SRC into DST (hazards as comments)"
    )
    parser.add_argument(
        "--online",
        action="store_true",
        help="with --sql: the files generate writes (indexes CONCURRENTLY, NOT VALID + VALIDATE)",
    )
    add_selection(parser)
    parser.add_argument(
        "--with-privileges", action="store_true", help="also compare privileges (GRANTs)"
    )
    parser.add_argument("--with-owners", action="store_true", help="also compare owners")
    parser.set_defaults(
        run=lambda a: compare(
            load_config(a),
            source=a.source,
            target=a.target,
            as_json=a.json,
            as_markdown=a.markdown,
            as_sql=a.sql,
            online=a.online,
            schemas=a.schemas,
            exclude=a.exclude,
            privileges=a.with_privileges,
            owners=a.with_owners,
        )
    )


def compare(
    config: Config,
    *,
    source: str,
    target: str,
    as_json: bool = False,
    as_markdown: bool = False,
    as_sql: bool = False,
    online: bool = False,
    schemas: list[str] | None = None,
    exclude: list[str] | None = None,
    privileges: bool = False,
    owners: bool = False,
) -> int:
    """Print what turns SRC's schema into DST's; 0 when identical, 1 when they differ."""
    if online and not as_sql:
        raise ConfigError("--online goes with --sql")
    selection = filters.for_config(config, schemas=schemas, exclude=exclude)
    with collector_paused():
        left, right = sources.load_pair(config, source, target, selection)
        result = diff(left.model, right.model, privileges=privileges, owners=owners)
        if as_sql:
            return _print_sql(left.model, right.model, result, online=online)
    if as_json:
        out(json.dumps(report.as_json(result, left.label, right.label), indent=2))
    elif as_markdown:
        from rally_gitops.schema.markdown import section  # and the diagrams: only for this

        out(section(result, left.label, right.label, right.model).rstrip("\n"))
    else:
        for text in report.lines(result):
            out(text)
        out(f"{report.summary(result)} ({left.label} → {right.label})")
    return 1 if result else 0


def _print_sql(source: Model, target: Model, result: Diff, *, online: bool) -> int:
    """The SQL (online: file by file); 1 when there is any, 0 when none."""
    # the planner loads pglast: not for building the parser
    from rally_gitops.schema import migration_files as files
    from rally_gitops.schema.online import split
    from rally_gitops.schema.plan import plan

    up = plan(source, target, result)
    if not up:
        return 0
    if not online:
        # new enum values that the SQL also uses must be committed first
        parts = files.enum_values_first([files.plain(up, up)])
        for part in parts[:-1]:
            out("\n".join([*part.up, "COMMIT;  -- the new enum values are used below"]))
        out("\n".join(parts[-1].up))
        return 1
    parts = files.enum_values_first(
        split(up, plan(target, source, diff(target, source)), source, target)
    )
    for i, part in enumerate(parts, 1):
        out(
            f"-- file {i} of {len(parts)}"
            + (" (-- rally:no-transaction)" if part.no_transaction else "")
        )
        for line in part.up:
            out(line)
    return 1
