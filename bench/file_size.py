"""Benchmark: big migration files: time and peak memory to split them, and a whole deploy.

Generates one migration of N MB (a table, then INSERT statements of ~90 bytes, a comment every
1000 rows, in one BEGIN/COMMIT), and for each size runs a fresh Python process that parses and
splits it as a deploy does (``Migration.body()``), reporting the time and the peak RSS. Then
deploys the 2.5 MB file (29k statements) to a fresh database of an embedded server with fsync
off and prints the whole-process time.

    .venv/bin/python bench/file_size.py                 # 2.5, 5 and 50 MB; deploy of 2.5 MB
    .venv/bin/python bench/file_size.py --sizes 5 100   # other sizes (MB)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from common import load, machine, must, postgres, run_timed, summary, venv_bin

ROW = "INSERT INTO big (id, name, note) VALUES ({0}, 'name {0}', 'a note about row {0};');\n"
SPLIT = """
import json, resource, sys, time
from pathlib import Path
from rally_gitops.files.migrations import parse
started = time.perf_counter()
migration = parse(Path(sys.argv[1]), max_bytes=1 << 40)
body = migration.body()
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "statements": len(body), "peak": peak}))
"""
BASELINE = (
    "import resource; from rally_gitops.files import migrations, statements; import pglast; "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"
)


def write_file(directory: Path, megabytes: float) -> Path:
    """``<dir>/20240101_000000_big.sql`` of about ``megabytes`` MB."""
    path = directory / f"{megabytes:g}mb" / "migrations" / "20240101_000000_big.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [
        "-- Migration: 20240101_000000_big\n-- Description: big\nBEGIN;\n",
        "CREATE TABLE big (id int PRIMARY KEY, name text, note text);\n",
    ]
    size, number = sum(map(len, parts)), 0
    while size < megabytes * 1_000_000:
        if number % 1000 == 0:
            parts.append(f"-- batch {number}\n")
        parts.append(ROW.format(number))
        size += len(parts[-1])
        number += 1
    parts.append("COMMIT;\n")
    path.write_text("".join(parts))
    return path


def split_once(path: Path) -> dict[str, float]:
    """Parse and split ``path`` in a fresh interpreter: seconds, statements, peak RSS."""
    result = must(run_timed([sys.executable, "-c", SPLIT, path], cwd=path.parent), "split")
    return json.loads(result.stdout)


def deploy_once(path: Path, workdir: Path) -> float:
    """``rally-gitops deploy`` of the file's project into a fresh database (fsync off)."""
    project = path.parent.parent
    (project / "pyproject.toml").write_text(
        '[project]\nname = "big"\nversion = "0"\n\n[tool.rally_gitops.lint]\n'
        "max_file_bytes = 1099511627776\n"
    )
    with postgres(None, workdir, fsync=False) as (server, _where):
        server.ensure_role()
        url = server.create_database("big")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PG"))}
        env["DATABASE_STAGING_URL"] = url
        argv = [venv_bin("rally-gitops"), "deploy", "--env", "staging", "--yes", "--no-backup"]
        return must(run_timed(argv, cwd=project, env=env), "deploy").seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[2.5, 5, 50], help="MB")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    parser.add_argument("--no-deploy", action="store_true", help="only split")
    args = parser.parse_args(argv)
    load_at_start = load()
    lines = []
    with tempfile.TemporaryDirectory(prefix="rally-big-") as tmp:
        base = must(run_timed([sys.executable, "-c", BASELINE], cwd=Path(tmp)), "baseline")
        lines.append(
            f"peak RSS of the interpreter with the splitter imported: "
            f"{int(base.stdout) / 1e6:.0f} MB"
        )
        for megabytes in args.sizes:
            path = write_file(Path(tmp), megabytes)
            runs = [split_once(path) for _ in range(args.runs)]
            peak = max(run["peak"] for run in runs) / 1e6
            lines.append(
                f"split {path.stat().st_size / 1e6:.1f} MB ({int(runs[0]['statements']):,} "
                f"statements): {summary([run['seconds'] for run in runs])}, peak RSS {peak:.0f} MB"
            )
            print(lines[-1], flush=True)
        if not args.no_deploy:
            path = write_file(Path(tmp), 2.5)
            seconds = [deploy_once(path, Path(tmp) / f"pg{n}") for n in range(args.runs)]
            lines.append(f"deploy of the 2.5 MB file, fsync off: {summary(seconds)} (goal <= 3 s)")
    print("\n== file_size ==")
    for line in machine():
        print(line)
    print(f"load average at the start: {load_at_start}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
