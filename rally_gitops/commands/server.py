"""``rally-gitops server status|stop [--replay]``: the project's embedded PostgreSQL servers.

Two may run: the one behind ``local`` (``.rally/pgdata``) and the replay server of ``validate``
(``.rally/replay-pgdata``, or ``replay-pgdata-<hash>`` for a configured ``server_bin``; each
stops itself when idle). ``stop`` stops both; ``--replay``
only the replay server.
"""

from __future__ import annotations

import argparse

from rally_gitops.cli import load_config, out
from rally_gitops.config import Config
from rally_gitops.postgres.db import LOCAL_DATABASE
from rally_gitops.postgres.embedded import EmbeddedServer, local_server
from rally_gitops.replay.watchdog import data_dirs


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "server", help="status or stop of the embedded PostgreSQL servers (local and replay)"
    )
    parser.add_argument("action", choices=("status", "stop"))
    parser.add_argument(
        "--replay", action="store_true", help="only the replay server of `validate`"
    )
    parser.set_defaults(run=lambda a: server(load_config(a), a.action, replay_only=a.replay))


def server(config: Config, action: str, *, replay_only: bool = False) -> int:
    """Report on or stop the project's embedded servers (their data stays in .rally/)."""
    servers = [("replay", EmbeddedServer(path)) for path in data_dirs(config)]
    if not replay_only:
        servers.insert(0, ("local", local_server(config.state_dir)))
    for name, embedded in servers:
        if not embedded.data_dir.exists():
            out(f"{name}: not running (no data in {embedded.data_dir})")
        elif action == "stop":
            out(f"{name}: {'stopped' if embedded.stop() else 'not running'}")
        else:
            running = embedded.running()
            out(
                f"{name}: running on port {running.port}, data in {embedded.data_dir}"
                if running
                else f"{name}: not running (data in {embedded.data_dir})"
            )
            if running and name == "local":
                # the Unix socket with trust authentication: a URL with no password to hide,
                # for psql or a GUI while designing a change that `generate` then writes
                out(f"  connect: psql '{running.url(LOCAL_DATABASE)}'")
    return 0
