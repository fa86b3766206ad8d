"""``rally-gitops ledger export|history --env E``: read the ledger."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.errors import ConfigError
from rally_gitops.postgres.db import connect, resolve


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("ledger", help="export the applied set or show the history")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write applied_migrations.json (a JSON list)")
    add_env(export)
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    export.set_defaults(run=lambda a: ledger_export(load_config(a), a.env, output=a.output))
    history = actions.add_parser("history", help="the newest events of the append-only history")
    add_env(history)
    history.add_argument("-n", "--limit", type=int, default=30)
    history.set_defaults(run=lambda a: ledger_history(load_config(a), a.env, limit=a.limit))


def ledger_export(config: Config, env: str, *, output: str | None) -> int:
    """The applied set as the seed's ``applied_migrations.json`` list."""
    target = resolve(config, env)
    with connect(target.url, autocommit=True, purpose="export") as conn:
        rows = Ledger.for_config(conn, config).applied()
    text = json.dumps([row.as_json() for row in rows.values()], indent=2) + "\n"
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {output}: {exc.strerror}") from None
        print(f"wrote {len(rows)} applied migration(s) to {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def ledger_history(config: Config, env: str, *, limit: int) -> int:
    """Print the newest events, newest first."""
    target = resolve(config, env)
    with connect(target.url, autocommit=True, purpose="history") as conn:
        ledger = Ledger.for_config(conn, config)
        events = ledger.history(limit) if ledger.exists() else []
    for event in events:
        out(
            f"{event.at:%Y-%m-%d %H:%M:%S} {event.event:<9} {event.name or '-':<50} "
            f"{event.actor}" + (f"  {event.detail}" if event.detail else "")
        )
    return 0
