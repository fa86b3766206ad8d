"""Benchmark: ``rally-gitops deploy`` against dbmate on the same migration history.

Generates a realistic history (``bench/corpus.py``, default 320 files) in both formats, applies it
with each tool to a fresh database of ONE PostgreSQL server, alternating the tools, and prints the
whole-process times, medians and the ratio rally/dbmate. Then times ``rally-gitops status`` with
every migration applied, and the Python start-up share of that figure.

    .venv/bin/python bench/deploy_vs_dbmate.py            # embedded PostgreSQL, 5 rounds
    .venv/bin/python bench/deploy_vs_dbmate.py --rounds 3 --url postgresql://postgres@host/postgres

dbmate comes from npm (``npm install --prefix .rally/bench dbmate``, done here when missing); its
native binary (``@dbmate/linux-x64``) is run directly, not through the node wrapper, so that dbmate
is not charged for node's start-up. Both tools get the same password URL over TCP, dbmate through
``DATABASE_URL`` and rally through ``DATABASE_STAGING_URL`` (no password in argv).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import (
    ROOT,
    Server,
    Timed,
    install,
    load,
    machine,
    must,
    postgres,
    run_timed,
    summary,
    venv_bin,
)
from corpus import generate, write_dbmate, write_rally

NPM_DIR = ROOT / ".rally" / "bench"
# series name -> extra deploy arguments (dbmate is the reference); the backup is rally's own
# safety net (pg_dump before applying), which dbmate has no equivalent of: timed apart
SERIES: dict[str, tuple[str, ...]] = {"rally": ("--no-backup",), "rally-backup": (), "dbmate": ()}
PYPROJECT = '[project]\nname = "bench-app"\nversion = "0"\n\n[tool.rally_gitops]\n'


def dbmate_binary(npm_dir: Path = NPM_DIR) -> Path:
    """The native dbmate binary, installed from npm into ``npm_dir`` when missing."""
    arch = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "x64")
    system = sys.platform if sys.platform != "linux" else "linux"
    binary = npm_dir / "node_modules" / "@dbmate" / f"{system}-{arch}" / "bin" / "dbmate"
    if binary.exists():
        return binary
    npm_dir.mkdir(parents=True, exist_ok=True)
    install(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(npm_dir), "dbmate"],
        f"dbmate from npm into {npm_dir}",
    )
    if not binary.exists():
        raise SystemExit(
            f"bench: npm installed dbmate but not its native binary {binary} "
            f"(optional dependency @dbmate/{system}-{arch} skipped?)"
        )
    return binary


def tool_env(**extra: str) -> dict[str, str]:
    """The environment of a tool run: ours minus any database variable, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "PG")) and k not in ("CI",)
    }
    # dbmate has no drift check: rally's (a replay of the history before and after) is not timed
    env["RALLY_DRIFT"] = "off"
    env.update(extra)
    return env


def count_rows(server: Server, database: str, query: str) -> int:
    """One integer from ``query`` in ``database`` (to check that a run applied everything)."""
    import psycopg

    with psycopg.connect(server.tcp_url(database)) as conn:
        return int(conn.execute(query).fetchone()[0])


OBJECTS = (
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relname NOT LIKE 'schema\\_migrations%'"
)


def run_rally(
    project: Path, server: Server, database: str, count: int, extra: tuple[str, ...] = ()
) -> Timed:
    """One timed ``rally-gitops deploy`` into a fresh database, checked to have applied all."""
    url = server.create_database(database)
    result = must(
        run_timed(
            [venv_bin("rally-gitops"), "deploy", "--env", "staging", "--yes", *extra],
            cwd=project,
            env=tool_env(DATABASE_STAGING_URL=url),
        ),
        "rally-gitops deploy",
    )
    applied = count_rows(server, database, "SELECT count(*) FROM rally_gitops.applied")
    if applied != count:
        raise SystemExit(f"bench: rally-gitops applied {applied} of {count} migrations")
    return result


def run_dbmate(binary: Path, project: Path, server: Server, database: str, count: int) -> Timed:
    """One timed ``dbmate up`` into a fresh database, checked to have applied all."""
    url = server.create_database(database)
    result = must(
        run_timed(
            [binary, "--migrations-dir", project / "db" / "migrations", "--no-dump-schema", "up"],
            cwd=project,
            env=tool_env(DATABASE_URL=url),
        ),
        "dbmate up",
    )
    applied = count_rows(server, database, "SELECT count(*) FROM schema_migrations")
    if applied != count:
        raise SystemExit(f"bench: dbmate applied {applied} of {count} migrations")
    return result


def startup_share(project: Path, url: str, runs: int) -> list[str]:
    """Where a ``status`` run's time goes before any work: interpreter, imports, parser."""
    python = sys.executable
    env = tool_env(DATABASE_STAGING_URL=url)
    lines = []
    for label, argv in (
        ("python -c pass (bare interpreter)", [python, "-c", "pass"]),
        ("python -c 'import rally_gitops.main'", [python, "-c", "import rally_gitops.main"]),
        (
            "rally-gitops --version (all command modules + parser)",
            [venv_bin("rally-gitops"), "--version"],
        ),
    ):
        samples = [must(run_timed(argv, cwd=project, env=env), label).seconds for _ in range(runs)]
        lines.append(f"{label}: {summary(samples)}")
    trace = run_timed(
        [python, "-X", "importtime", "-m", "rally_gitops", "status", "--env", "staging"],
        cwd=project,
        env=env,
    )
    top: list[tuple[int, str]] = []
    for line in trace.stderr.splitlines():
        # "import time:   self |  cumulative | name"; top-level modules have no leading spaces
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _, rest = line.partition(":")
        parts = rest.split("|")
        if len(parts) == 3 and not parts[2].startswith("  "):
            top.append((int(parts[1]), parts[2].strip()))
    top.sort(reverse=True)
    total = sum(us for us, _ in top)
    lines.append(f"imports during `status` (python -X importtime): {total / 1e6:.3f} s in total")
    lines.extend(f"  {us / 1e6:.3f} s  {name}" for us, name in top[:8])
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=320, help="migrations (default 320)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per tool (default 5)")
    parser.add_argument("--status-runs", type=int, default=7, help="status runs (default 7)")
    parser.add_argument("--url", help="admin URL of another PostgreSQL (default: embedded)")
    parser.add_argument("--workdir", type=Path, help="keep the generated project here")
    args = parser.parse_args(argv)
    if args.rounds < 3 or args.count < 300:
        parser.error("the benchmark needs --rounds >= 3 and --count >= 300")

    load_at_start = load()
    binary = dbmate_binary()
    dbmate_version = subprocess.run([binary, "--version"], capture_output=True, text=True)
    with tempfile.TemporaryDirectory(prefix="rally-bench-") as tmp:
        work = args.workdir.resolve() if args.workdir else Path(tmp)
        project = work / "project"
        migrations = generate(args.count)
        write_rally(project / "migrations", migrations)
        write_dbmate(project / "db" / "migrations", migrations)
        (project / "pyproject.toml").write_text(PYPROJECT)
        print(f"{args.count} migrations generated in {project}", flush=True)

        with postgres(args.url, work) as (server, where):
            server.ensure_role()
            pg_version = server.version()
            times: dict[str, list[float]] = {name: [] for name in SERIES}
            cpu: dict[str, list[float]] = {name: [] for name in SERIES}
            objects: dict[str, int] = {}
            keep = ""  # the last database rally deployed to, for the status timing
            for number in range(1, args.rounds + 1):
                # rotate who goes first, so that no tool always meets a warmer server (new WAL
                # segments, caches) than the others
                names = list(SERIES)
                order = names[number % len(names) :] + names[: number % len(names)]
                for name in order:
                    database = f"bench_{name.replace('-', '_')}_{number}"
                    if name == "dbmate":
                        result = run_dbmate(binary, project, server, database, args.count)
                    else:
                        result = run_rally(project, server, database, args.count, SERIES[name])
                    times[name].append(result.seconds)
                    cpu[name].append(result.cpu)
                    objects[name] = count_rows(server, database, OBJECTS)
                    if name == "rally":
                        keep, database = database, keep
                    if database:
                        server.drop_database(database)
                    print(f"round {number}: {name:<13} {result.seconds:.3f} s", flush=True)
            if len(set(objects.values())) != 1:
                print(f"WARNING: the schemas differ (objects in public: {objects})")

            url = server.tcp_url(keep)
            status_argv = [venv_bin("rally-gitops"), "status", "--env", "staging"]
            env = tool_env(DATABASE_STAGING_URL=url)
            must(run_timed(status_argv, cwd=project, env=env), "status (warm-up)")
            status_runs = [
                must(run_timed(status_argv, cwd=project, env=env), "rally-gitops status")
                for _ in range(args.status_runs)
            ]
            status = [run.seconds for run in status_runs]
            startup = startup_share(project, url, args.status_runs)

    rally, dbmate = times["rally"], times["dbmate"]
    ratio = statistics.median(rally) / statistics.median(dbmate)
    with_backup = statistics.median(times["rally-backup"]) / statistics.median(dbmate)
    print()
    print("== deploy_vs_dbmate ==")
    for line in machine():
        print(line)
    print(f"load average at the start: {load_at_start}")
    print(f"PostgreSQL: {pg_version} ({where})")
    print(f"dbmate: {dbmate_version.stdout.strip()} ({binary})")
    no_tx = sum(m.no_transaction for m in migrations)
    print(f"migrations: {args.count} files ({no_tx} no-transaction), {args.rounds} rounds")
    print(f"rally-gitops deploy --env staging --yes --no-backup: {summary(rally)}")
    print(f"rally-gitops deploy --env staging --yes (+ backup):  {summary(times['rally-backup'])}")
    print(f"dbmate --no-dump-schema up:                          {summary(dbmate)}")
    print(f"ratio rally/dbmate (medians): {ratio:.2f}x  (goal <= 1.0x)")
    print(f"ratio rally/dbmate (mins): {min(rally) / min(dbmate):.2f}x")
    print(
        "client CPU (user+sys, medians; less sensitive to other load): "
        + ", ".join(f"{name} {statistics.median(cpu[name]):.3f} s" for name in SERIES)
    )
    print(f"ratio rally with its pre-deploy backup/dbmate (medians): {with_backup:.2f}x")
    print(
        f"rally-gitops status --env staging ({args.count} applied): {summary(status)}"
        "  (goal <= 0.3 s)"
    )
    print(f"  its CPU (user+sys, median): {statistics.median(r.cpu for r in status_runs):.3f} s")
    for line in startup:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
