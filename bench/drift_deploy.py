"""Benchmark: what deploy's drift checks (``drift = "warn"``, the default) cost, 300 files.

Each deploy with pending files checks drift before the migrations (the ledger's migrations
replayed on the throwaway server, compared with the live schema) and after them. This times whole
``rally-gitops deploy --env staging --yes --no-backup`` processes, ``drift = "off"`` and
``"warn"`` alternating, in three cases:

- ``fresh 300``: an empty database, all 300 files pending, cold replay cache (a first CI deploy);
- ``+5 cold``: 295 applied, 5 pending, cold replay cache (a CI runner starts with none);
- ``+5 warm``: 295 applied, 5 pending, the template of the 295 cached (a developer's machine).

"cold" is a new project directory per run, so the replay's embedded server is initialised and
started inside the timed deploy (and stopped after it).

    .venv/bin/python bench/drift_deploy.py [--rounds 3] [--url postgresql://postgres@host/postgres]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from common import BENCH_ROLE, Server, load, machine, must, postgres, run_timed, venv_bin
from compare_vs_migra import tool_env
from corpus import generate, write_rally

CASES = ("fresh 300", "+5 cold", "+5 warm")
MODES = ("off", "warn")


def project(root: Path, files: list[Path], mode: str) -> Path:
    """A project directory holding ``files`` with ``drift = mode``."""
    (root / "migrations").mkdir(parents=True)
    for path in files:
        shutil.copy(path, root / "migrations" / path.name)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "bench-app"\nversion = "0"\n\n[tool.rally_gitops]\ndrift = "{mode}"\n'
    )
    return root


def stop_replay_server(root: Path) -> None:
    """Stop the embedded replay server a run left in ``root/.rally`` (its watchdog follows)."""
    from rally_gitops.postgres.embedded import EmbeddedServer

    data = root / ".rally" / "replay-pgdata"
    if data.exists():
        EmbeddedServer(data, fast=True).stop()


def rally(root: Path, url: str, *args: str, codes: tuple[int, ...] = (0,)) -> float:
    """One whole ``rally-gitops`` process against ``url`` as staging; its seconds."""
    env = tool_env(DATABASE_STAGING_URL=url)
    result = must(run_timed([venv_bin("rally-gitops"), *args], cwd=root, env=env), args[0], codes)
    return result.seconds


def clone(server: Server, name: str, template: str | None) -> str:
    """A database ``name``: empty, or a copy of ``template``."""
    import psycopg
    from psycopg import sql

    if template is None:
        return server.create_database(name)
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(template), sql.Identifier(BENCH_ROLE)
            )
        )
    return server.tcp_url(name)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--url", help="admin URL of another PostgreSQL (default: embedded)")
    args = parser.parse_args(argv)
    load_at_start = load()
    with tempfile.TemporaryDirectory(prefix="rally-drift-") as tmp:
        work = Path(tmp)
        write_rally(work / "all", generate(300))
        files = sorted((work / "all").iterdir())
        with postgres(args.url, work) as (server, where):
            server.ensure_role()
            # the 295 applied once, copied for each run
            base = project(work / "base", files[:295], "off")
            rally(
                base,
                server.create_database("drift_base"),
                "deploy",
                "--env",
                "staging",
                "--yes",
                "--no-backup",
            )
            warm = {mode: project(work / f"warm-{mode}", files, mode) for mode in MODES}
            times: dict[tuple[str, str], list[float]] = {(c, m): [] for c in CASES for m in MODES}
            run = 0
            for number in range(1, args.rounds + 1):
                for case in CASES:
                    for mode in MODES if number % 2 else MODES[::-1]:
                        run += 1
                        url = clone(
                            server, "drift_target", None if case == "fresh 300" else "drift_base"
                        )
                        if case == "+5 warm":
                            root = warm[mode]
                            if mode == "warn":  # the 295's template, as the last deploy left it
                                rally(root, url, "drift", "--env", "staging")
                        else:
                            root = project(work / f"cold-{run}", files, mode)
                        try:
                            seconds = rally(
                                root, url, "deploy", "--env", "staging", "--yes", "--no-backup"
                            )
                        finally:
                            if case != "+5 warm":
                                stop_replay_server(root)
                        times[(case, mode)].append(seconds)
                        print(
                            f"round {number}: {case:<10} drift={mode:<5} {seconds:.3f} s",
                            flush=True,
                        )
            for root in warm.values():
                stop_replay_server(root)
            report(server, where, times, load_at_start)
            server.drop_database("drift_target")
            server.drop_database("drift_base")
    return 0


def report(
    server: Server, where: str, times: dict[tuple[str, str], list[float]], load_at_start: str
) -> None:
    print(f"\nPostgreSQL {server.version()} ({where}); 300 migrations")
    for case in CASES:
        off, warn = (statistics.median(times[(case, m)]) for m in MODES)
        shown = {m: ", ".join(f"{s:.2f}" for s in times[(case, m)]) for m in MODES}
        print(
            f"{case:<10} drift=off {off:6.2f} s [{shown['off']}]  drift=warn {warn:6.2f} s "
            f"[{shown['warn']}]  checks cost {warn - off:+.2f} s ({warn / off:.2f}x)"
        )
    print(f"load average at start: {load_at_start}; at end: {load()}")
    print("\n".join(machine()))


if __name__ == "__main__":
    raise SystemExit(main())
