"""What ``rally-gitops rehearse`` costs over the plain way to try migrations on a copy of the data.

Builds a database of at least ``--size-mb`` MB (default 200; generate_series, three tables with
indexes), backs it up with ``rally-gitops backup``, writes five typical pending migrations (an
index, a column with a default, a type change, SET NOT NULL, a backfill UPDATE), then times,
alternating the order every round, on the same server:

- plain: create a scratch database, ``rally-gitops restore --into`` it, ``rally-gitops deploy
  --no-backup`` the five migrations to it, drop it (what a person would do by hand);
- ``rally-gitops rehearse``: the same in one process, with every statement measured (locks,
  rewrites, scans, rows) and the report printed.

Usage::

    .venv/bin/python bench/rehearse.py [--rounds 3] [--size-mb 200] [--url ADMIN_URL]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import machine, must, postgres, run_timed, summary, venv_bin  # type: ignore[import-not-found]

TABLES = """
CREATE TABLE users (
    id bigint PRIMARY KEY, email text, name text, created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id bigint PRIMARY KEY, user_id integer NOT NULL, amount numeric(12, 2) NOT NULL,
    status text, note text NOT NULL, created_at timestamptz NOT NULL
);
CREATE INDEX orders_created_idx ON orders (created_at);
CREATE TABLE tags (id integer PRIMARY KEY, order_id bigint NOT NULL, label text NOT NULL);
"""
FILL = """
INSERT INTO users SELECT g, 'user' || g || '@example.com', CASE WHEN g % 10 > 0 THEN 'n' || g END,
    timestamptz '2024-01-01' + g * interval '1 minute' FROM generate_series({a}, {b}) g;
INSERT INTO orders SELECT g, 1 + g % 400000, (g % 10000) / 100.0,
    CASE WHEN g % 20 > 0 THEN 'paid' END, md5(g::text),
    timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series({a} * 3, {b} * 3 + 2) g;
INSERT INTO tags SELECT g, g * 3, 'tag' || g % 50 FROM generate_series({a}, {b}) g;
"""
MIGRATIONS = {
    "20260101_000001_index_orders_user": "CREATE INDEX orders_user_idx ON orders (user_id);",
    "20260101_000002_users_active": (
        "ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;"
    ),
    "20260101_000003_tags_id_bigint": "ALTER TABLE tags ALTER COLUMN id TYPE bigint;",
    "20260101_000004_users_email_not_null": "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    "20260101_000005_backfill_status": (
        "UPDATE orders SET status = 'unknown' WHERE status IS NULL;"
    ),
}


def fill(url: str, size_mb: int) -> int:
    """Insert rows in batches until the database is at least ``size_mb`` MB; its size in bytes."""
    import psycopg

    batch = 200_000
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLES)
        start = 1
        while True:
            conn.execute(FILL.format(a=start, b=start + batch - 1))
            start += batch
            size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
            if size >= size_mb * 1_000_000:
                conn.execute("VACUUM ANALYZE")
                return size


def write_project(project: Path) -> None:
    """A project whose ``staging`` is the big database and ``copy`` the plain way's scratch."""
    (project / "migrations").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "bench"\nversion = "0"\n\n[tool.rally_gitops]\n'
        "require_committed = []\n\n[tool.rally_gitops.environments.copy]\n"
        'url_env = "DATABASE_COPY_URL"\n\n[tool.rally_gitops.backup]\nkeep = 1\n'
        # the five would fail the default 5 s on a slow machine; the bench times, not judges
        "\n[tool.rally_gitops.rehearse]\nmax_lock_seconds = 3600\n",
        encoding="utf-8",
    )
    for name, sql in MIGRATIONS.items():
        (project / "migrations" / f"{name}.sql").write_text(
            f"-- migration: {name}\n\n{sql}\n", encoding="utf-8"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--url", help="admin URL of another (local) server (default: embedded)")
    args = parser.parse_args(argv)
    import psycopg

    work = Path(tempfile.mkdtemp(prefix="rally-bench-rehearse-"))
    try:
        with postgres(args.url, work) as (server, where):
            server.ensure_role()
            url = server.create_database("bench_rehearse")
            size = fill(url, args.size_mb)
            project = work / "proj"
            write_project(project)
            rally = venv_bin("rally-gitops")
            env = {
                **os.environ,
                "DATABASE_STAGING_URL": url,
                # the scratch databases of both ways live on the same server as the source
                "RALLY_REPLAY_DATABASE_URL": server.admin_url,
                "DATABASE_COPY_URL": server.tcp_url("bench_copy"),
                # the tables were made by the fill, not by migrations: deploy's drift check
                # would only say so (and replay the history)
                "RALLY_DRIFT": "off",
            }
            env.pop("CI", None)
            must(run_timed([rally, "backup", "--env", "staging"], cwd=project, env=env), "backup")

            def plain() -> float:
                started = time.perf_counter()
                with psycopg.connect(server.admin_url, autocommit=True) as admin:
                    admin.execute("CREATE DATABASE bench_copy OWNER rally_bench")
                copy_url = env["DATABASE_COPY_URL"]
                restore = [rally, "restore", "--env", "staging", "latest", "--into", copy_url]
                must(run_timed([*restore, "--yes"], cwd=project, env=env), "restore --into")
                deploy = [rally, "deploy", "--env", "copy", "--no-backup"]
                must(run_timed(deploy, cwd=project, env=env), "deploy")
                server.drop_database("bench_copy")
                return time.perf_counter() - started

            def rehearse() -> float:
                timed = must(
                    run_timed(
                        [rally, "rehearse", "--env", "staging", "--json"], cwd=project, env=env
                    ),
                    "rehearse",
                )
                report.update(json.loads(timed.stdout))
                return timed.seconds

            report: dict = {}
            runs = {"restore --into + deploy (plain)": plain, "rehearse": rehearse}
            samples: dict[str, list[float]] = {name: [] for name in runs}
            names = list(runs)
            for round_no in range(args.rounds):
                for name in names if round_no % 2 == 0 else list(reversed(names)):
                    samples[name].append(runs[name]())
            version = server.version()
            dump = next((project / ".rally/backups/staging").glob("*.dump")).stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("# rehearse vs a plain restore + deploy of the same migrations to a copy")
    print(f"server: PostgreSQL {version}, {where}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"database: {size / 1e6:.0f} MB (pg_database_size), dump {dump / 1e6:.1f} MB")
    for line in machine():
        print(line)
    print("wall clock, whole processes (the plain way: create, restore, deploy, drop):")
    for name, values in samples.items():
        print(f"  {name:<34} {summary(values)}")
    plain_name = "restore --into + deploy (plain)"
    ratio = statistics.median(samples["rehearse"]) / statistics.median(samples[plain_name])
    paired = [r / b for r, b in zip(samples["rehearse"], samples[plain_name], strict=True)]
    each = statistics.median(paired)
    print(f"ratio rehearse / plain: medians {ratio:.3f}x, paired (per round) {each:.3f}x")
    print(f"rehearse's own figures (last round): restore {report['restore_seconds']:.2f} s")
    for migration in report["migrations"]:
        blocked = ", ".join(f"{k} {v:.2f}s" for k, v in migration["writes_blocked_seconds"].items())
        name, seconds = migration["filename"], migration["seconds"]
        print(f"  {name:<42} {seconds:7.3f} s  writes blocked: {blocked or '-'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
