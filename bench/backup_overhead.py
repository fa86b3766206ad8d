"""What a verified ``rally-gitops backup`` costs over a bare ``pg_dump -Fc`` of the same database.

Generates a database of at least ``--size-mb`` MB (default 220) with generate_series, then times,
alternating the order every round:

- ``pg_dump -Fc``: the bundled pg_dump, the same one rally-gitops picks, bare;
- ``rally-gitops backup --kind full``: the same dump + ``pg_restore --list`` + sha256 + manifest,
  as a whole process (Python start-up, config, connection, verification);
- ``rally-gitops backup``: the default, full dump plus the schema-only snapshot.

Usage::

    .venv/bin/python bench/backup_overhead.py [--rounds 7] [--size-mb 220] [--url ADMIN_URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import machine, must, postgres, run_timed, summary, venv_bin  # type: ignore[import-not-found]

FILL = """
CREATE TABLE events (
    id          bigint PRIMARY KEY,
    user_id     integer NOT NULL,
    kind        text NOT NULL,
    payload     text NOT NULL,
    amount      numeric(12, 2) NOT NULL,
    created_at  timestamptz NOT NULL
);
INSERT INTO events
SELECT g, ((g * 7919) % 100000)::int, (ARRAY['click', 'view', 'buy', 'share'])[1 + g % 4],
       md5(g::text) || ' ' || md5((g * 31)::text), (g % 100000) / 100.0,
       timestamptz '2024-01-01' + g * interval '1 second'
FROM generate_series(%(start)s::bigint, %(stop)s) g;
"""


def fill(url: str, size_mb: int) -> int:
    """Insert rows in batches until the database is at least ``size_mb`` MB; its size in bytes."""
    import psycopg

    batch = 500_000
    with psycopg.connect(url, autocommit=True) as conn:
        start = 1
        while True:
            sql = FILL if start == 1 else FILL.split(";", 1)[1]
            conn.execute(
                sql.replace("%(start)s", str(start)).replace("%(stop)s", str(start + batch - 1))
            )
            start += batch
            size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
            if size >= size_mb * 1_000_000:
                conn.execute("VACUUM ANALYZE events")
                return size


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--size-mb", type=int, default=220)
    parser.add_argument("--url", help="admin URL of another server (default: embedded)")
    args = parser.parse_args(argv)
    from rally_gitops.postgres.embedded import bin_dir
    from rally_gitops.postgres.tools import client_conn

    work = Path(tempfile.mkdtemp(prefix="rally-bench-backup-"))
    try:
        with postgres(args.url, work) as (server, where):
            server.ensure_role()
            url = server.create_database("bench_backup")
            size = fill(url, args.size_mb)
            project = work / "proj"
            (project / "migrations").mkdir(parents=True)
            (project / "pyproject.toml").write_text(
                '[project]\nname = "bench"\nversion = "0"\n\n[tool.rally_gitops.backup]\nkeep = 1\n'
            )
            env = {**os.environ, "DATABASE_STAGING_URL": url}
            pg_dump = bin_dir() / "pg_dump"
            client = client_conn(url)
            bare_env = {**os.environ, "PGPASSWORD": client.password or ""}
            bare_argv = [pg_dump, "-Fc", "-f", work / "bare.dump", "--dbname", client.conninfo]
            rally = venv_bin("rally-gitops")
            runs = {
                "pg_dump -Fc (bare)": lambda: run_timed(bare_argv, cwd=work, env=bare_env),
                "rally-gitops backup --kind full": lambda: run_timed(
                    [rally, "backup", "--env", "staging", "--kind", "full"], cwd=project, env=env
                ),
                "rally-gitops backup (full + schema)": lambda: run_timed(
                    [rally, "backup", "--env", "staging"], cwd=project, env=env
                ),
            }
            samples: dict[str, list[float]] = {name: [] for name in runs}
            cpu: dict[str, list[float]] = {name: [] for name in runs}
            must(runs["pg_dump -Fc (bare)"](), "warm-up pg_dump")
            names = list(runs)
            for round_no in range(args.rounds):
                order = names if round_no % 2 == 0 else list(reversed(names))
                for name in order:
                    timed = must(runs[name](), name)
                    samples[name].append(timed.seconds)
                    cpu[name].append(timed.cpu)
            dump_size = (work / "bare.dump").stat().st_size
            version = server.version()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare = statistics.median(samples["pg_dump -Fc (bare)"])
    print("# backup overhead: rally-gitops backup vs bare pg_dump -Fc")
    print(f"server: PostgreSQL {version}, {where}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"database: {size / 1e6:.0f} MB (pg_database_size), dump {dump_size / 1e6:.1f} MB")
    for line in machine():
        print(line)
    print("paired: median over rounds of (this run / the bare pg_dump of the same round):")
    for name, values in samples.items():
        paired = [v / b for v, b in zip(values, samples["pg_dump -Fc (bare)"], strict=True)]
        print(f"  {name:<38} {statistics.median(paired):.3f}x")
    bare_cpu = statistics.median(cpu["pg_dump -Fc (bare)"])
    print("wall clock, whole process (ratio: median / median of the bare pg_dump):")
    for name, values in samples.items():
        ratio = statistics.median(values) / bare
        print(f"  {name:<38} {summary(values)}  ratio {ratio:.3f}x")
    print("CPU seconds of the process and its children (user + system; the server's not included):")
    for name, values in cpu.items():
        ratio = statistics.median(values) / bare_cpu
        print(f"  {name:<38} median {statistics.median(values):.3f} s  ratio {ratio:.3f}x")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
