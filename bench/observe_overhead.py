"""The observation's overhead on replay (issue 12): 300 corpus files with and without it.

Generates 300 realistic migrations (bench/corpus.py: tables, columns added later, indexes,
plpgsql triggers, seed rows, views, CONCURRENTLY files) into a scratch project and measures,
alternating the two variants round by round so that load drifts hit both alike:

1. apply: the 300 files applied one by one through the deploy engine into a fresh database
   (``replay.steps.apply_checked``), without and with an ``Observer`` - the engine's own cost;
2. replay: ``replay.run.replay`` of the 300 files as new (what ``validate --all
   --no-round-trip`` runs: database created, files applied, database dropped), ``measure``
   False and True;
3. validate: the whole ``rally-gitops validate --all --no-round-trip`` process with
   ``--no-measure`` and without (the measured findings included: the linter runs for the files
   whose statements touched an existing table).

Goal: the observation costs <= 10% of replay time (2: ratio of the medians <= 1.10).
Usage::

    .venv/bin/python bench/observe_overhead.py [--files 300] [--rounds 7]

With ``RALLY_REPLAY_DATABASE_URL`` set, that server is used instead of the embedded one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import load, machine, must, run_timed, summary, venv_bin  # type: ignore[import-not-found]
from corpus import generate, write_rally  # type: ignore[import-not-found]


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a local server backend so far, from /proc (0 if not local:
    another machine's server)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def apply_all(config, server, migrations, observe: bool) -> tuple[float, float, int, int]:  # type: ignore[no-untyped-def]
    """Wall seconds to apply ``migrations`` into a fresh database, the CPU seconds it took (this
    process and its server backend: what load on a shared machine does not inflate), the
    statements measured and how many of them were probed (the others provably touched no
    existing relation: replay/inert.py)."""
    from rally_gitops.deploy.ledger import Ledger
    from rally_gitops.postgres.db import connect
    from rally_gitops.replay import cache
    from rally_gitops.replay.observe import Observer
    from rally_gitops.replay.steps import apply_checked

    name = f"{cache.PREFIX}bench_{uuid.uuid4().hex[:8]}"
    observer = Observer() if observe else None
    with connect(server.admin_url, autocommit=True, purpose="bench") as admin:
        cache.create_database(admin, name, None)
        try:
            with connect(server.url(name), autocommit=True, purpose="bench") as conn:
                Ledger.for_config(conn, config).ensure()
                pid = conn.info.backend_pid
                cpu = time.process_time() + backend_cpu(pid)
                started = time.perf_counter()
                for migration in migrations:
                    apply_checked(conn, config, migration, observer)
                seconds = time.perf_counter() - started
                cpu = time.process_time() + backend_cpu(pid) - cpu
        finally:
            cache.drop_database(admin, name)
    statements = [s for m in observer.measures for s in m.statements] if observer else []
    return seconds, cpu, len(statements), sum(s.probed for s in statements)


def ratio(without: list[float], with_: list[float]) -> str:
    """``with / without = 1.043 (+4.3%)`` of the medians."""
    value = statistics.median(with_) / statistics.median(without)
    return f"with / without = {value:.3f} ({(value - 1) * 100:+.1f}%)"


def main() -> None:
    """Generate the project, time the three pairs, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from rally_gitops import config as config_mod
    from rally_gitops.files.migrations import discover
    from rally_gitops.replay.run import replay, replay_server

    workdir = Path(tempfile.mkdtemp(prefix="rally-bench-observe-"))
    project = workdir / "project"
    try:
        write_rally(project / "migrations", generate(args.files))
        (project / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
        config = config_mod.load(project)
        migrations = discover(config.migrations_dir)
        server = replay_server(config)
        apply_all(config, server, migrations[:20], False)  # warm up the server and the caches
        apply_all(config, server, migrations[:20], True)

        applied: dict[bool, list[float]] = {False: [], True: []}
        cpu: dict[bool, list[float]] = {False: [], True: []}
        replayed: dict[bool, list[float]] = {False: [], True: []}
        statements = probed = 0
        for _ in range(args.rounds):
            for observe in (False, True):
                seconds, used, measured, with_probe = apply_all(config, server, migrations, observe)
                applied[observe].append(seconds)
                cpu[observe].append(used)
                statements, probed = max(statements, measured), max(probed, with_probe)
                result = replay(
                    config, migrations, migrations, with_round_trip=False, measure=observe
                )
                if result.findings or result.applied != len(migrations):
                    sys.exit(f"replay failed: {result.findings[:1]}")
                replayed[observe].append(result.seconds)

        cli = venv_bin("rally-gitops")
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        validated: dict[bool, list[float]] = {False: [], True: []}
        findings = ""
        for _ in range(max(3, args.rounds // 2)):
            for observe in (False, True):
                argv = [cli, "validate", "--all", "--no-round-trip"]
                run = must(
                    run_timed(argv + ([] if observe else ["--no-measure"]), cwd=project, env=env),
                    "validate --all",
                    ok_codes=(0, 1),
                )
                validated[observe].append(run.seconds)
                if observe:
                    findings = run.stdout.strip().splitlines()[-1]

        print("# Observation overhead on replay (issue 12)")
        print()
        for line in machine():
            print(f"- {line}")
        external = os.environ.get("RALLY_REPLAY_DATABASE_URL")
        print(f"- server: {'RALLY_REPLAY_DATABASE_URL' if external else 'embedded (fsync=off)'}")
        print(
            f"- {len(migrations)} corpus files, {statements} statements measured, "
            f"{args.rounds} rounds alternating without/with"
        )
        print(
            f"- {probed} statements probed, {statements - probed} skipped (provably touching no "
            "relation that existed before their migration: only their clock read)"
        )
        print()
        for title, samples in (
            ("apply of the files (engine only), wall", applied),
            ("apply of the files, CPU of client + server backend", cpu),
            ("replay() of the files as new", replayed),
            ("rally-gitops validate --all --no-round-trip (whole process)", validated),
        ):
            print(f"{title}:")
            print(f"  without observation: {summary(samples[False])}")
            print(f"  with observation:    {summary(samples[True])}")
            print(f"  {ratio(samples[False], samples[True])}")
        extra = statistics.median(cpu[True]) - statistics.median(cpu[False])
        print(
            f"observation's CPU per statement: {extra / max(statements, 1) * 1e3:.3f} ms, "
            f"per probed statement: {extra / max(probed, 1) * 1e3:.3f} ms (apply, medians)"
        )
        print(f"validate's measured findings: {findings}")
        value = statistics.median(replayed[True]) / statistics.median(replayed[False])
        print(
            f"goal replay overhead <= 10% (wall, replay()): {'met' if value <= 1.10 else 'MISSED'}"
        )
        value = statistics.median(cpu[True]) / statistics.median(cpu[False])
        print(f"goal overhead <= 10% (CPU, apply): {'met' if value <= 1.10 else 'MISSED'}")
        print(f"load average at the end: {load()}")
    finally:
        from rally_gitops.postgres.embedded import EmbeddedServer

        EmbeddedServer(project / ".rally" / "replay-pgdata").stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
