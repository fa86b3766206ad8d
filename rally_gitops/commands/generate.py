"""``rally-gitops generate DESCRIPTION``: write the migration that turns the committed migrations'
schema (``--from``) into the local database's (``--to``), proved both ways before it is written."""

from __future__ import annotations

import argparse

from rally_gitops.cli import SOURCE_HELP, add_selection, load_config, out


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
    parser.set_defaults(run=_run)


def _run(a: argparse.Namespace) -> int:
    """Verify and write the migration (``rally_gitops.schema.generation``); 0 when written or
    nothing to generate (a failure is a ``RallyError``)."""
    # the planner and the verifier load pglast: not for building the parser
    from rally_gitops.schema.generation import generate

    generate(
        load_config(a),
        a.description,
        report=out,
        source=a.source,
        target=a.target,
        rename=a.rename,
        allow_data_loss=a.allow_data_loss,
        dry_run=a.dry_run,
        online=a.online,
        schemas=a.schemas,
        exclude=a.exclude,
    )
    return 0
