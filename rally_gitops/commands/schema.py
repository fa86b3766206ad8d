"""``rally-gitops schema diagram SRC``: an ER diagram of a database or of the migrations."""

from __future__ import annotations

import argparse

from rally_gitops.cli import SOURCE_HELP, add_selection, load_config, out
from rally_gitops.config import Config
from rally_gitops.schema import diagram as diagram_mod
from rally_gitops.schema import filters, sources


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("schema", help="look at a schema: ER diagrams")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    draw = actions.add_parser("diagram", help="an ER diagram (Mermaid or Graphviz DOT)")
    draw.add_argument("source", metavar="SRC", help=SOURCE_HELP)
    draw.add_argument(
        "--format", choices=("mermaid", "dot"), default="mermaid", help="default: mermaid"
    )
    draw.add_argument(
        "--tables",
        action="append",
        metavar="GLOB",
        help="only tables matching the glob on schema.name or name (repeatable)",
    )
    add_selection(draw)
    draw.set_defaults(
        run=lambda a: diagram(
            load_config(a),
            source=a.source,
            fmt=a.format,
            tables=a.tables or [],
            schemas=a.schemas,
            exclude=a.exclude,
        )
    )


def diagram(
    config: Config,
    *,
    source: str,
    fmt: str = "mermaid",
    tables: list[str] | None = None,
    schemas: list[str] | None = None,
    exclude: list[str] | None = None,
) -> int:
    """Print the diagram of ``source``'s tables; 0 always (an empty schema is an empty diagram)."""
    selection = filters.for_config(config, schemas=schemas, exclude=exclude)
    loaded = sources.load(config, source, selection)
    found, links = diagram_mod.entities(loaded.model, tables or [])
    draw = diagram_mod.dot if fmt == "dot" else diagram_mod.mermaid
    out(draw(found, links).rstrip("\n"))
    return 0
