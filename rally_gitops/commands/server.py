"""``rally-gitops server status|stop``: the embedded PostgreSQL behind ``local``."""

from __future__ import annotations

import argparse

from rally_gitops.cli import load_config, out
from rally_gitops.config import Config
from rally_gitops.postgres.embedded import local_server


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("server", help="status or stop of the embedded PostgreSQL (local)")
    parser.add_argument("action", choices=("status", "stop"))
    parser.set_defaults(run=lambda a: server(load_config(a), a.action))


def server(config: Config, action: str) -> int:
    """Report on or stop the project's embedded server (its data stays in .rally/pgdata)."""
    embedded = local_server(config.state_dir)
    if action == "stop":
        out("stopped" if embedded.stop() else "not running")
        return 0
    running = embedded.running()
    out(
        f"running on port {running.port}, data in {embedded.data_dir}"
        if running
        else f"not running (data in {embedded.data_dir})"
    )
    return 0
