"""Benchmark: ``rally-gitops compare A B --sql`` against ``migra --unsafe A B`` on the change
corpus of the generate tests (testing/generate_cases.py), both ways, and the time of both on the
big schema (bench/corpus.py's history, from an empty database).

For each case and each direction, each tool's SQL is applied to a fresh copy of the source and
the result compared with the target by normalised ``pg_dump --schema-only`` (comment, SET and
blank lines dropped, lines sorted: the order pg_dump prints objects in is no difference). A tool
passes a direction when its SQL applies and the dumps are equal; anything else is named.

The big schema is deployed, vacuumed, analysed and checkpointed, each tool runs once untimed,
then the rounds alternate the tools; wall-clock and CPU (user + system) medians are printed.

    .venv/bin/python bench/diff_vs_migra.py                 # embedded PostgreSQL
    .venv/bin/python bench/diff_vs_migra.py --rounds 7 --url postgresql://postgres@host/postgres

migra lives in its own virtual environment with psycopg2-binary (``--migra-venv``, default
/tmp/migra-venv), never in the project's; it takes ``postgresql+psycopg2://`` URLs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from common import Server, Timed, load, machine, must, postgres, run_timed, venv_bin
from compare_vs_migra import PYPROJECT, deploy, migra_binary, pg_dump_binary, tool_env
from corpus import generate, write_rally

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from testing.generate_cases import CASES  # noqa: E402

Tool = Callable[[str, str], tuple[str | None, str]]


def execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if sql.strip():
            conn.execute(sql.encode())


def dump(url: str) -> list[str]:
    """``pg_dump --schema-only`` normalised: no comments, SETs, blank or psql meta lines; sorted."""
    text = subprocess.run(
        [str(pg_dump_binary()), "--schema-only", "--no-owner", "--dbname", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    skipped = ("--", "SET ", "SELECT pg_catalog.set_config", "\\")
    return sorted(
        line.rstrip().rstrip(",")
        for line in text.splitlines()
        if line.strip() and not line.startswith(skipped)
    )


def rally_sql(project: Path, source: str, target: str) -> tuple[str | None, str]:
    env = tool_env(DATABASE_STAGING_URL=source, DATABASE_PUBLIC_URL=target)
    argv = [str(venv_bin("rally-gitops")), "compare", "staging", "production", "--sql"]
    done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        return None, done.stderr.strip().splitlines()[-1:][0] if done.stderr.strip() else "crash"
    return done.stdout, ""


def migra_sql(migra: Path, source: str, target: str) -> tuple[str | None, str]:
    urls = [u.replace("postgresql://", "postgresql+psycopg2://") for u in (source, target)]
    done = subprocess.run(
        [str(migra), "--unsafe", *urls], env=tool_env(), capture_output=True, text=True
    )
    if done.returncode not in (0, 2):
        lines = done.stderr.strip().splitlines()
        return None, lines[-1] if lines else f"exit {done.returncode}"
    return done.stdout, ""


RESET = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' LOOP
    EXECUTE format('DROP EXTENSION %I CASCADE', r.extname);
  END LOOP;
  FOR r IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP;
END $$;
CREATE SCHEMA public;
"""


def one_way(urls: tuple[str, str, str], tool: Tool, before: str, after: str) -> str:
    """'ok' or why not: ``tool(source_url, target_url)`` gives the SQL."""
    src, dst, copy = urls
    for url, sql in ((src, before), (dst, after), (copy, before)):
        execute(url, RESET)
        execute(url, sql)
    sql, why = tool(src, dst)
    if sql is None:
        return f"no SQL ({why[:80]})"
    try:
        execute(copy, sql)
    except Exception as exc:  # noqa: BLE001 - the tool's SQL failing is the finding
        return f"SQL fails: {str(exc).splitlines()[0][:80]}"
    left, right = dump(copy), dump(dst)
    if left != right:
        extra = sorted(set(left) ^ set(right))
        return f"differs: {extra[0][:80] if extra else 'line order/count'}"
    return "ok"


def cases(server: Server, project: Path, migra: Path) -> dict[str, dict[str, int]]:
    tools = {
        "rally": lambda s, t: rally_sql(project, s, t),
        "migra": lambda s, t: migra_sql(migra, s, t),
    }
    totals = {name: {"up": 0, "down": 0} for name in tools}
    names = ("bench_case_a", "bench_case_b", "bench_case_c")
    urls = (
        server.create_database(names[0]),
        server.create_database(names[1]),
        server.create_database(names[2]),
    )
    print(f"{'case':<26} {'rally up':<10} {'rally down':<10} {'migra up':<10} migra down")
    failures: list[str] = []
    for case in CASES:
        row = []
        for name, tool in tools.items():
            for direction, (a, b) in (
                ("up", (case.before, case.after)),
                ("down", (case.after, case.before)),
            ):
                found = one_way(urls, tool, a, b)
                row.append("ok" if found == "ok" else "FAIL")
                if found == "ok":
                    totals[name][direction] += 1
                else:
                    failures.append(f"  {name} {direction} {case.id}: {found}")
        print(f"{case.id:<26} {row[0]:<10} {row[1]:<10} {row[2]:<10} {row[3]}", flush=True)
    for name in names:
        server.drop_database(name)
    print(f"\n{len(CASES)} cases; passing directions:")
    for name, t in totals.items():
        print(f"  {name}: up {t['up']}/{len(CASES)}, down {t['down']}/{len(CASES)}")
    print("failures:" if failures else "no failures")
    print("\n".join(failures))
    return totals


def settle(server: Server, databases: tuple[str, ...]) -> None:
    """``VACUUM ANALYZE`` and a checkpoint after the deploy: otherwise autovacuum analyses the
    hundreds of new tables (and the checkpointer writes them) during the first timed rounds,
    on one of the machine's two cores, whichever tool runs then."""
    import psycopg

    for name in databases:
        with psycopg.connect(server.admin_url, dbname=name, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def big(server: Server, project: Path, migra: Path, count: int, rounds: int) -> None:
    """Both tools, empty → the big schema, as whole processes, alternating."""
    write_rally(project / "migrations", generate(count))
    full, empty = server.create_database("bench_big"), server.create_database("bench_nothing")
    deploy(project, full)
    settle(server, ("bench_big", "bench_nothing"))
    alchemy = [u.replace("postgresql://", "postgresql+psycopg2://") for u in (empty, full)]
    runs = {
        "rally compare --sql": (
            [venv_bin("rally-gitops"), "compare", "staging", "production", "--sql"],
            tool_env(DATABASE_STAGING_URL=empty, DATABASE_PUBLIC_URL=full),
            (1,),
        ),
        "migra --unsafe": ([migra, "--unsafe", *alchemy], tool_env(), (2,)),
    }
    for name, (argv, env, codes) in runs.items():  # one untimed run each: caches warm
        must(run_timed(argv, cwd=project, env=env), f"{name} (warm-up)", codes)
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    for number in range(rounds):
        for name in list(runs)[number % 2 :] + list(runs)[: number % 2]:
            argv, env, codes = runs[name]
            result: Timed = must(run_timed(argv, cwd=project, env=env), name, codes)
            times[name].append(result.seconds)
            cpus[name].append(result.cpu)
    med = {name: statistics.median(samples) for name, samples in times.items()}
    cpu = {name: statistics.median(samples) for name, samples in cpus.items()}
    print(f"\nempty → {count}-migration schema, median of {rounds} (wall; CPU = user + system):")
    for name, samples in times.items():
        print(
            f"  {name:<20} {med[name]:.3f} s  [{', '.join(f'{s:.3f}' for s in samples)}]"
            f"  CPU {cpu[name]:.3f} s"
        )
    ratio = med["rally compare --sql"] / med["migra --unsafe"]
    cpu_ratio = cpu["rally compare --sql"] / cpu["migra --unsafe"]
    print(f"  rally/migra = {ratio:.2f}x wall (goal <= 0.4), {cpu_ratio:.2f}x CPU")
    for name in ("bench_big", "bench_nothing"):
        server.drop_database(name)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300, help="migrations of the big schema")
    parser.add_argument("--rounds", type=int, default=5, help="rounds on the big schema")
    parser.add_argument("--url", help="admin URL of another PostgreSQL (default: embedded)")
    parser.add_argument("--migra-venv", type=Path, default=Path("/tmp/migra-venv"))
    parser.add_argument("--big-only", action="store_true", help="only the big-schema timing")
    args = parser.parse_args(argv)
    at_start = load()
    migra = migra_binary(args.migra_venv)
    with tempfile.TemporaryDirectory(prefix="rally-bench-") as tmp:
        project = Path(tmp) / "project"
        (project / "migrations").mkdir(parents=True)
        (project / "pyproject.toml").write_text(PYPROJECT)
        with postgres(args.url, Path(tmp)) as (server, where):
            server.ensure_role()
            print(f"PostgreSQL {server.version()} ({where})")
            if not args.big_only:
                cases(server, project, migra)
            big(server, project, migra, args.count, args.rounds)
    print(f"load average at start: {at_start}; at end: {load()}")
    print("\n".join(machine()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
