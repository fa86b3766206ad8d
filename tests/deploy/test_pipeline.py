"""The deploy pipeline as a service: what deploy, release and workflow call (no CLI, no prompt)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rally_gitops import config as config_mod
from rally_gitops.deploy.pipeline import deploy_pending
from rally_gitops.errors import DeployError, RallyError
from rally_gitops.files.migrations import Migration
from rally_gitops.postgres.db import Target

SAMPLE = 6  # migrations in the sample project


def applied(url: str) -> int:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('rally_gitops.applied')").fetchone()[0] is None:
            return 0
        return conn.execute("SELECT count(*) FROM rally_gitops.applied").fetchone()[0]


def never(target: Target, pending: list[Migration]) -> None:
    raise AssertionError(f"approve called for {target.env.name}")


def test_a_staging_deploy_reports_through_report_and_returns_what_it_applied(
    project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_STAGING_URL", database_url)
    lines: list[str] = []
    result = deploy_pending(
        config_mod.load(project), "staging", report=lines.append, approve=never, no_backup=True
    )
    assert [m.filename for m in result.applied] == [m.filename for m in result.pending]
    assert len(result.applied) == SAMPLE and not result.dry_run
    assert applied(database_url) == SAMPLE
    # before the backup: the require_committed and drift notes of the pipeline
    start = lines.index("No backup of staging (--no-backup)")
    assert lines[start + 1].startswith(f"Deploying {SAMPLE} migration(s) to staging")
    assert sum(line.startswith("  applied ") for line in lines) == SAMPLE
    assert any(
        line.startswith(f"Done: {SAMPLE} migration(s) applied to staging in ") for line in lines
    )
    again = deploy_pending(
        config_mod.load(project), "staging", report=lines.append, approve=never, no_backup=True
    )
    assert (again.pending, again.applied) == ([], [])
    assert any(line.endswith(f"up to date ({SAMPLE} applied), nothing to deploy") for line in lines)


def test_dry_run_lists_the_plan_and_applies_nothing(
    project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_STAGING_URL", database_url)
    lines: list[str] = []
    result = deploy_pending(
        config_mod.load(project), "staging", report=lines.append, approve=never, dry_run=True
    )
    assert result.dry_run and len(result.pending) == SAMPLE and result.applied == []
    plan = next(i for i, line in enumerate(lines) if "would be applied" in line)
    assert lines[plan].endswith(f"{SAMPLE} migration(s) would be applied, in this order:")
    assert lines[plan + 1 : plan + 1 + SAMPLE] == [
        f"  {m.filename}{' [no-transaction]' if m.no_transaction else ''}  {m.description}"
        for m in result.pending
    ]
    assert lines[-1] == "dry run: nothing was applied"
    assert applied(database_url) == 0


def test_production_asks_approve_once_and_a_refusal_applies_nothing(
    project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (project / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[tool.rally_gitops.backup]\nrequire_staging = false\n")
    monkeypatch.setenv("DATABASE_PUBLIC_URL", database_url)
    asked: list[tuple[str, int]] = []

    def refuse(target: Target, pending: list[Migration]) -> None:
        asked.append((target.env.name, len(pending)))
        raise RallyError("cancelled: the confirmation did not match; nothing was done")

    with pytest.raises(RallyError, match="^cancelled: the confirmation did not match"):
        deploy_pending(config_mod.load(project), "production", report=print, approve=refuse)
    assert asked == [("production", SAMPLE)]
    assert applied(database_url) == 0


def test_a_failing_migration_raises_deploy_error_after_reporting_it(
    project: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "migrations" / "20990101_000000_broken.sql").write_text(
        "-- Migration: 20990101_000000_broken\nBEGIN;\nSELECT 1/0;\nCOMMIT;\n", encoding="utf-8"
    )
    monkeypatch.setenv("DATABASE_STAGING_URL", database_url)
    lines: list[str] = []
    with pytest.raises(DeployError) as failed:
        deploy_pending(
            config_mod.load(project), "staging", report=lines.append, approve=never, no_backup=True
        )
    assert f"{SAMPLE} of {SAMPLE + 1} migration(s) applied to staging before the failure" in str(
        failed.value
    )
    assert "  FAILED  20990101_000000_broken.sql" in lines
    assert applied(database_url) == SAMPLE
