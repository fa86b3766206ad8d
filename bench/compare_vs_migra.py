"""Benchmark: ``rally-gitops compare`` against migra, with ``pg_dump --schema-only`` as the floor.

Generates a history (``bench/corpus.py``, default 640 files: >= 50 tables, >= 250 indexes, >= 100
functions), deploys it once into a database of ONE PostgreSQL server, and times whole processes,
alternating the tools each round: the schema compared with an empty database and with itself, by
``rally-gitops compare`` and by migra, and ``pg_dump --schema-only`` of the same database.

    .venv/bin/python bench/compare_vs_migra.py             # embedded PostgreSQL, 5 rounds
    .venv/bin/python bench/compare_vs_migra.py --rounds 7 --url postgresql://postgres@host/postgres

migra (PyPI) needs psycopg2 and ``postgresql+psycopg2://`` URLs: it is installed with
psycopg2-binary into its own virtual environment (``--migra-venv``, default /tmp/migra-venv),
never into the project's. rally-gitops gets its URLs through ``DATABASE_STAGING_URL`` and
``DATABASE_PUBLIC_URL``; migra only takes them in argv (the bench role's throwaway password).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import Server, Timed, install, load, machine, must, postgres, run_timed, venv_bin
from corpus import generate, write_rally

PYPROJECT = '[project]\nname = "bench-app"\nversion = "0"\n\n[tool.rally_gitops]\ndrift = "off"\n'
COUNTS = {
    "tables": "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind = 'r'",
    "indexes": "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'",
    "functions": "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = 'public'",
    "triggers": "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal",
    "views": "SELECT count(*) FROM pg_views WHERE schemaname = 'public'",
}


def migra_binary(venv: Path) -> Path:
    """migra in its own virtual environment, installed there (with psycopg2-binary) if missing."""
    binary = venv / "bin" / "migra"
    if not binary.exists():
        install([sys.executable, "-m", "venv", str(venv)], f"a virtual environment at {venv}")
        pip = [str(venv / "bin" / "pip"), "install", "-q"]
        install([*pip, "migra", "psycopg2-binary", "setuptools"], f"migra into {venv}")
    return binary


def tool_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PG", "RALLY_"))}
    env.update(extra)
    return env


def pg_dump_binary() -> Path:
    """The pg_dump rally-gitops bundles (the embedded server's)."""
    from rally_gitops.postgres.embedded import bin_dir

    return bin_dir() / "pg_dump"


def deploy(project: Path, url: str) -> None:
    must(
        run_timed(
            [venv_bin("rally-gitops"), "deploy", "--env", "staging", "--yes", "--no-backup"],
            cwd=project,
            env=tool_env(DATABASE_STAGING_URL=url),
        ),
        "rally-gitops deploy",
    )


def counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        return {name: int(conn.execute(q).fetchone()[0]) for name, q in COUNTS.items()}


def series(project: Path, migra: Path, full: str, empty: str) -> dict[str, tuple[list, tuple]]:
    """name -> (argv, env, accepted exit codes)."""
    rally = venv_bin("rally-gitops")
    alchemy = {u: u.replace("postgresql://", "postgresql+psycopg2://") for u in (full, empty)}
    return {
        "rally empty→schema": (
            [rally, "compare", "staging", "production"],
            tool_env(DATABASE_STAGING_URL=empty, DATABASE_PUBLIC_URL=full),
            (1,),
        ),
        "migra empty→schema": (
            [migra, "--unsafe", alchemy[empty], alchemy[full]],
            tool_env(),
            (2,),
        ),
        "rally self": (
            [rally, "compare", "staging", "production"],
            tool_env(DATABASE_STAGING_URL=full, DATABASE_PUBLIC_URL=full),
            (0,),
        ),
        "migra self": ([migra, "--unsafe", alchemy[full], alchemy[full]], tool_env(), (0,)),
        "pg_dump --schema-only": (
            [pg_dump_binary(), "--schema-only", "--dbname", full, "--file", os.devnull],
            tool_env(),
            (0,),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=640, help="migrations (default 640)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--url", help="admin URL of another PostgreSQL (default: embedded)")
    parser.add_argument("--migra-venv", type=Path, default=Path("/tmp/migra-venv"))
    args = parser.parse_args(argv)
    if args.rounds < 5 or args.count < 300:
        parser.error("the benchmark needs --rounds >= 5 and --count >= 300")
    load_at_start = load()
    migra = migra_binary(args.migra_venv)
    with tempfile.TemporaryDirectory(prefix="rally-bench-") as tmp:
        work = Path(tmp)
        project = work / "project"
        write_rally(project / "migrations", generate(args.count))
        (project / "pyproject.toml").write_text(PYPROJECT)
        with postgres(args.url, work) as (server, where):
            server.ensure_role()
            full, empty = (
                server.create_database("bench_schema"),
                server.create_database("bench_empty"),
            )
            deploy(project, full)
            found = counts(full)
            print(f"{args.count} migrations deployed: {found}", flush=True)
            runs = series(project, migra, full, empty)
            times: dict[str, list[float]] = {name: [] for name in runs}
            for number in range(1, args.rounds + 1):
                names = list(runs)
                order = names[number % len(names) :] + names[: number % len(names)]
                for name in order:
                    argv_, env, codes = runs[name]
                    result: Timed = must(run_timed(argv_, cwd=project, env=env), name, codes)
                    times[name].append(result.seconds)
                    print(f"round {number}: {name:<22} {result.seconds:.3f} s", flush=True)
            report(server, where, args, found, times, load_at_start)
            for name in ("bench_schema", "bench_empty"):
                server.drop_database(name)
    return 0


def report(
    server: Server,
    where: str,
    args: argparse.Namespace,
    found: dict[str, int],
    times: dict[str, list[float]],
    load_at_start: str,
) -> None:
    med = {name: statistics.median(samples) for name, samples in times.items()}
    print()
    print(f"PostgreSQL {server.version()} ({where}); {args.count} migrations; {found}")
    for name, samples in times.items():
        shown = ", ".join(f"{s:.3f}" for s in samples)
        print(f"{name:<22} median {med[name]:.3f} s  [{shown}]")
    floor = med["pg_dump --schema-only"]
    for case in ("empty→schema", "self"):
        rally, migra = med[f"rally {case}"], med[f"migra {case}"]
        print(
            f"{case:<13} rally/migra = {rally / migra:.2f}x (goal <= 0.4)  "
            f"rally/pg_dump = {rally / floor:.2f}x (goal <= 3)"
        )
    print(f"load average at start: {load_at_start}; at end: {load()}")
    print("\n".join(machine()))


if __name__ == "__main__":
    raise SystemExit(main())
