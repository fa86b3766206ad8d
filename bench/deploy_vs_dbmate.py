"""Benchmark: ``rally-gitops deploy`` against dbmate and the server's own cost, on one history.

The history is a real one (``--history CHECKOUT``: a diesel layout such as LemmyNet/lemmy's 342
``migrations/*/up.sql``, converted by ``bench/diesel_history.py``) or a generated one
(``bench/corpus.py``, default 320 files). Each round applies it to a fresh database of ONE
PostgreSQL server with each tool, in a balanced order (whole in rounds of 4): rally (no
backup), rally with its pre-deploy backup, dbmate, and the floor ``psql -1 -f all.sql`` (the
whole history in one transaction: what the server itself needs). Then ``status`` and a
deploy with nothing pending, 342 applied, and the Python start-up share. All of it on a
server with fsync off and one with fsync on (``--fsync``), with every ratio printed.

    .venv/bin/python bench/deploy_vs_dbmate.py --history /tmp/lemmy      # both servers, 8 rounds
    .venv/bin/python bench/deploy_vs_dbmate.py --rounds 4 --url postgresql://postgres@host/postgres

dbmate comes from npm (``npm install --prefix .rally/bench dbmate``, done here when missing); its
native binary (``@dbmate/linux-x64``) is run directly, not through the node wrapper, so that dbmate
is not charged for node's start-up. Both tools get the same password URL over TCP, dbmate through
``DATABASE_URL`` and rally through ``DATABASE_STAGING_URL`` (no password in argv).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import Server, Timed, load, machine, must, postgres, run_timed, summary, venv_bin
from corpus import generate, write_dbmate, write_rally
from diesel_history import all_sql
from diesel_history import load as load_history
from tool_runs import (
    OBJECTS,
    count_rows,
    dbmate_binary,
    psql_binary,
    run_dbmate,
    run_floor,
    run_rally,
    startup_share,
    tool_env,
)

# series name -> extra deploy arguments (dbmate is the reference); the backup is rally's own
# safety net (pg_dump before applying), which dbmate has no equivalent of: timed apart
SERIES: dict[str, tuple[str, ...]] = {
    "rally": ("--no-backup",),
    "rally-backup": (),
    "dbmate": (),
    "psql-1": (),
}
# a Williams design for the 4 series: row r holds (r + 0, r + 1, r + 3, r + 2) mod 4
WILLIAMS = [[(row + step) % 4 for step in (0, 1, 3, 2)] for row in range(4)]
assert len(SERIES) == 4, "WILLIAMS is the design for four series"
PYPROJECT = '[project]\nname = "bench-app"\nversion = "0"\n\n[tool.rally_gitops]\n'


def one_round(ctx: Context, server: Server, number: int, times: Samples, cpu: Samples) -> str:
    """Every series once into a fresh database, in the order of row ``number`` of a balanced
    Latin square: over 4 rounds each series runs once in each position and right after each
    other series once. (A rotation kept every tool behind the same one: rally always followed
    the floor's single big transaction, and lost 0.3-1.5 s there.) Returns the database rally
    deployed to (kept for status)."""
    names = list(SERIES)
    order = [names[index] for index in WILLIAMS[(number - 1) % len(WILLIAMS)]]
    kept = ""
    objects: dict[str, int] = {}
    for name in order:
        database = f"bench_{name.replace('-', '_')}_{number}"
        if name == "dbmate":
            result = run_dbmate(ctx.dbmate, ctx.project, server, database, ctx.count)
        elif name == "psql-1":
            result = run_floor(ctx.psql, ctx.project / "all.sql", server, database)
        else:
            result = run_rally(ctx.project, server, database, ctx.count, SERIES[name])
        times[name].append(result.seconds)
        cpu[name].append(result.cpu)
        objects[name] = count_rows(server, database, OBJECTS)
        if name == "rally":
            kept = database
        else:
            server.drop_database(database)
        print(f"round {number}: {name:<13} {result.seconds:.3f} s", flush=True)
    if len(set(objects.values())) != 1:
        print(f"WARNING: the schemas differ (objects in public: {objects})")
    return kept


@dataclass(frozen=True)
class Context:
    """What every round needs: the project, the tools, the history's size."""

    project: Path
    dbmate: Path
    psql: Path
    count: int
    rounds: int
    runs: int
    superuser: bool  # Lemmy's history disables system triggers: the role must be superuser


Samples = dict[str, list[float]]


def measure(ctx: Context, server: Server, where: str) -> list[str]:
    """All series on one server; the summary lines."""
    server.ensure_role(superuser=ctx.superuser)
    times: Samples = {name: [] for name in SERIES}
    cpu: Samples = {name: [] for name in SERIES}
    kept: list[str] = []
    for number in range(1, ctx.rounds + 1):
        kept.append(one_round(ctx, server, number, times, cpu))
    for database in kept[:-1]:
        server.drop_database(database)
    env = tool_env(DATABASE_STAGING_URL=server.tcp_url(kept[-1]))
    rally = venv_bin("rally-gitops")
    follow_up = {
        "status": [rally, "status", "--env", "staging"],
        "deploy, nothing pending": [rally, "deploy", "--env", "staging", "--yes"],
    }
    after: dict[str, list[Timed]] = {}
    for label, argv in follow_up.items():
        must(run_timed(argv, cwd=ctx.project, env=env), f"{label} (warm-up)")
        after[label] = [
            must(run_timed(argv, cwd=ctx.project, env=env), label) for _ in range(ctx.runs)
        ]
    median = {name: statistics.median(samples) for name, samples in times.items()}
    lines = [f"PostgreSQL {server.version()} ({where}); load now {load()}"]
    lines += [f"  {name:<13} {summary(times[name])}" for name in SERIES]
    lines += [
        f"  ratio rally/dbmate (medians): {median['rally'] / median['dbmate']:.2f}x (goal <= 1.0x)",
        f"  ratio rally/psql -1 (medians): {median['rally'] / median['psql-1']:.2f}x "
        "(goal <= 1.05x)",
        f"  ratio dbmate/psql -1 (medians): {median['dbmate'] / median['psql-1']:.2f}x",
        f"  ratio rally with backup/dbmate (medians): "
        f"{median['rally-backup'] / median['dbmate']:.2f}x",
        f"  ratio rally/dbmate (mins): {min(times['rally']) / min(times['dbmate']):.2f}x",
        "  client CPU (user+sys, medians): "
        + ", ".join(f"{name} {statistics.median(cpu[name]):.3f} s" for name in SERIES),
    ]
    for label, runs in after.items():
        seconds = [run.seconds for run in runs]
        cpu_median = statistics.median(run.cpu for run in runs)
        lines.append(
            f"  {label} ({ctx.count} applied): {summary(seconds)}, CPU {cpu_median:.3f} s "
            "(goal <= 0.15 s)"
        )
    lines += ["  " + line for line in startup_share(ctx.project, server.tcp_url(kept[-1]), 5)]
    server.drop_database(kept[-1])
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=Path, help="a checkout with migrations/*/up.sql")
    parser.add_argument("--count", type=int, default=320, help="generated files (no --history)")
    parser.add_argument("--rounds", type=int, default=8, help="rounds per tool (default 8)")
    parser.add_argument("--status-runs", type=int, default=7, help="status/no-op deploy runs")
    parser.add_argument("--fsync", choices=("off", "on", "both"), default="both")
    parser.add_argument("--pg-bin", type=Path, help="PostgreSQL binaries (default: embedded)")
    parser.add_argument("--url", help="admin URL of another PostgreSQL (default: embedded)")
    parser.add_argument("--workdir", type=Path, help="keep the generated project here")
    args = parser.parse_args(argv)
    if args.rounds % 4 or (args.history is None and args.count < 300):
        parser.error("the benchmark needs --rounds in fours (4, 8, ...) and --count >= 300")

    load_at_start = load()
    binary = dbmate_binary()
    dbmate_version = subprocess.run([binary, "--version"], capture_output=True, text=True)
    migrations = load_history(args.history) if args.history else generate(args.count)
    modes = [True] if args.url else [m == "on" for m in ("off", "on") if args.fsync in (m, "both")]
    reports: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="rally-bench-") as tmp:
        work = args.workdir.resolve() if args.workdir else Path(tmp)
        project = work / "project"
        write_rally(project / "migrations", migrations)
        write_dbmate(project / "db" / "migrations", migrations)
        (project / "all.sql").write_text(all_sql(migrations))
        (project / "pyproject.toml").write_text(PYPROJECT)
        print(f"{len(migrations)} migrations written to {project}", flush=True)
        ctx = Context(
            project,
            binary,
            psql_binary(args.pg_bin),
            len(migrations),
            args.rounds,
            args.status_runs,
            superuser=args.history is not None,
        )
        for fsync in modes:
            with postgres(args.url, work, fsync=fsync, pg_bin=args.pg_bin) as (server, where):
                reports.append(measure(ctx, server, where))

    print("\n== deploy_vs_dbmate ==")
    for line in machine():
        print(line)
    print(f"load average at the start: {load_at_start}")
    print(f"dbmate: {dbmate_version.stdout.strip()} ({binary})")
    no_tx = sum(m.no_transaction for m in migrations)
    source = f"{args.history} (diesel layout)" if args.history else "generated corpus"
    print(f"history: {len(migrations)} files ({no_tx} no-transaction) from {source}")
    print(
        f"{args.rounds} rounds; rally = deploy --no-backup, rally-backup = deploy (pg_dump first)"
    )
    for lines in reports:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
