"""Smoke tests of a deployed environment: ledger vs repository, SQL checks, HTTP checks.

Configuration (all optional)::

    [tool.rally_gitops.smoke]
    checks_dir = "migrations/checks"     # *.sql files, each one query returning true
    sql_timeout = "30s"

    [[tool.rally_gitops.smoke.http]]
    name = "api health"
    url = "${APP_HEALTH_URL}"            # ${VAR} from the environment; unset = config error
    expect_status = 200
    json_field = "commit"                # dotted path into the JSON body
    expect = "${GIT_SHA}"                # the commit being deployed
    timeout = 10                         # seconds per request
    deadline = 60                        # keep retrying (with backoff) for this long
    envs = ["staging"]                   # only for these environments (default: all)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rally_gitops.cli import load_migrations
from rally_gitops.config import Config
from rally_gitops.delivery.probe import Probe, expand, poll, protect_url
from rally_gitops.deploy.status import read_status
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.files.statements import split_statements
from rally_gitops.postgres.db import connect, describe, resolve
from rally_gitops.redact import register_secret, scrub
from rally_gitops.schema import report
from rally_gitops.schema.drift import detect
from rally_gitops.schema.drift import mode as drift_mode
from rally_gitops.steps import Report

if TYPE_CHECKING:
    import psycopg

    from rally_gitops.files.migrations import Migration
    from rally_gitops.postgres.db import Target

_DURATION = re.compile(r"^\d+(\.\d+)?\s*(ms|s|min|h)?$")
_SMOKE_KEYS = {"checks_dir", "sql_timeout", "http"}
_HTTP_KEYS = {
    "name", "url", "method", "expect_status", "json_field", "expect", "timeout", "deadline",
    "interval", "headers", "envs",
}  # fmt: skip


@dataclass(frozen=True)
class CheckResult:
    """One smoke check: its kind (ledger, sql, http), what it is called, and what was seen."""

    kind: str
    name: str
    ok: bool
    detail: str


def settings(config: Config) -> dict[str, Any]:
    """``[tool.rally_gitops.smoke]``, checked for unknown keys."""
    table = config.section("smoke")
    unknown = set(table) - _SMOKE_KEYS
    if unknown:
        raise ConfigError(f"[tool.rally_gitops.smoke]: unknown key(s) {', '.join(sorted(unknown))}")
    return table


def checks_dir(config: Config) -> Path:
    """Where the SQL checks live (default ``<migrations_dir>/checks``)."""
    value = settings(config).get("checks_dir")
    if value is None:
        return config.migrations_dir / "checks"
    if not isinstance(value, str):
        raise ConfigError("[tool.rally_gitops.smoke] checks_dir must be a string")
    return config.root / value


def http_probes(config: Config, env: str) -> list[Probe]:
    """The configured HTTP checks that apply to ``env``, expanded (unset variable = ConfigError)."""
    items = settings(config).get("http", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError("[[tool.rally_gitops.smoke.http]] must be an array of tables")
    probes = []
    for index, item in enumerate(items, 1):
        where = f"[[tool.rally_gitops.smoke.http]] #{index}"
        unknown = set(item) - _HTTP_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        envs = item.get("envs")
        if envs is not None and (
            not isinstance(envs, list) or not all(isinstance(e, str) for e in envs)
        ):
            raise ConfigError(f"{where}: envs must be a list of environment names")
        if envs is not None and env not in envs:
            continue
        probes.append(make_probe(item, where=where, root=config.root))
    return probes


def make_probe(item: dict[str, Any], *, where: str, root: Path) -> Probe:
    """A ``Probe`` from one configuration table (shared by smoke and release)."""
    template = item.get("url")
    if not isinstance(template, str) or not template:
        raise ConfigError(f"{where}: url is missing")
    name = item.get("name") or template
    where = f"{where} ({name})" if item.get("name") else where
    url = expand(template, where=where, root=root)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: url must start with http:// or https://")
    protect_url(url)
    headers = item.get("headers", {})
    if not isinstance(headers, dict):
        raise ConfigError(f"{where}: headers must be a table")
    expanded_headers = {}
    for key, value in headers.items():
        expanded_headers[str(key)] = expand(str(value), where=where, root=root)
        register_secret(expanded_headers[str(key)])  # Authorization values are tokens
    expect = item.get("expect")
    if isinstance(expect, str):
        expect = expand(expect, where=where, root=root)
    json_field = item.get("json_field")
    if json_field is not None and (not isinstance(json_field, str) or not json_field):
        raise ConfigError(f"{where}: json_field must be a dotted path such as 'build.commit'")
    return Probe(
        name=str(name),
        url=url,
        method=str(item.get("method", "GET")).upper(),
        expect_status=_number(item, "expect_status", 200, where, int),
        json_field=json_field,
        expect=expect,
        timeout=_number(item, "timeout", 10, where),
        deadline=_number(item, "deadline", 30, where),
        interval=_number(item, "interval", 0.5, where),
        headers=expanded_headers,
    )


def ledger_check(
    conn: psycopg.Connection, config: Config, migrations: list[Migration]
) -> CheckResult:
    """The ledger matches the repository: nothing pending, changed, missing or blocked."""
    status = read_status(conn, config, migrations)
    if status.clean:
        return CheckResult(
            "ledger", "ledger", True, f"{len(status.applied)} applied, matches the repository"
        )
    problems = []
    if status.pending:
        problems.append("pending: " + ", ".join(m.filename for m in status.pending))
    if status.changed:
        problems.append(
            "changed after applied: " + ", ".join(m.filename for m, _ in status.changed)
        )
    if status.missing:
        problems.append("file missing: " + ", ".join(f"{r.name}.sql" for r in status.missing))
    if status.blocked:
        problems.append(f"blocked by the failed no-transaction migration {status.blocked.name}")
    return CheckResult("ledger", "ledger", False, "; ".join(problems))


def sql_checks(conn: psycopg.Connection, directory: Path, timeout: str) -> list[CheckResult]:
    """Run every ``*.sql`` in ``directory`` read-only; each must return exactly one true value."""
    if not directory.is_dir():
        return []
    results = []
    for path in sorted(directory.glob("*.sql")):
        name = f"{directory.name}/{path.name}"
        ok, detail = _run_sql_check(conn, path, timeout)
        results.append(CheckResult("sql", name, ok, detail))
    return results


def _run_sql_check(conn: psycopg.Connection, path: Path, timeout: str) -> tuple[bool, str]:
    import psycopg

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return False, f"cannot read the file: {exc}"
    statements = [s for s in split_statements(text) if s.sql.strip()]
    if len(statements) != 1:
        return False, f"must hold exactly one query, found {len(statements)} statements"
    try:
        # read-only and rolled back: a smoke test must never change the database it checks
        with conn.transaction(force_rollback=True):
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute("SELECT set_config('statement_timeout', %s, true)", (timeout,))
            cursor = conn.execute(statements[0].sql)
            if cursor.description is None:
                return False, "is not a query (returned no rows)"
            rows = cursor.fetchmany(2)
    except psycopg.Error as exc:
        return False, f"error: {describe(exc)}"
    if not rows:
        return False, "returned no rows, expected a single true value"
    if len(rows) > 1 or len(rows[0]) != 1:
        shape = "more than one row" if len(rows) > 1 else f"{len(rows[0])} columns"
        return False, f"returned {shape}, expected a single true value"
    value = rows[0][0]
    if value is True:
        return True, "returned true"
    shown = "false" if value is False else "NULL" if value is None else repr(value)
    return False, f"returned {scrub(shown)[:80]}, expected true"


def drift_check(config: Config, target: Target) -> CheckResult:
    """The schema is what the applied migrations make (``rally-gitops drift``)."""
    try:
        found = detect(config, target)
    except RallyError as exc:
        return CheckResult("schema", "drift", False, str(exc))
    if not found:
        return CheckResult("schema", "drift", True, f"matches its {found.applied} migration(s)")
    lines = [ln for ln in report.lines(found.result) if ln]
    shown = "; ".join(lines[:5]) + ("; ..." if len(lines) > 5 else "")
    return CheckResult("schema", "drift", False, f"{report.summary(found.result)}: {shown}")


def run(config: Config, env: str, *, report: Report, http: bool = True) -> list[CheckResult]:
    """Every smoke check of ``env`` (``http=False``: the database ones), one line each."""
    probes = http_probes(config, env) if http else []  # config errors first
    sql_dir = checks_dir(config)
    timeout = settings(config).get("sql_timeout", "30s")
    if not isinstance(timeout, str) or not _DURATION.match(timeout):
        raise ConfigError(
            f"[tool.rally_gitops.smoke] sql_timeout = {timeout!r}: expected a duration like '30s'"
        )
    migrations = load_migrations(config)
    target = resolve(config, env)
    results: list[CheckResult] = []

    def done(result: CheckResult) -> None:
        results.append(result)
        mark = "ok  " if result.ok else "FAIL"
        # the ledger check is its own kind: name it once ("ok    ledger: 6 applied ...")
        label = result.name if result.name == result.kind else f"{result.kind:<6} {result.name}"
        report(scrub(f"  {mark}  {label}: {result.detail}"))

    try:
        with connect(target.url, autocommit=True, purpose="smoke") as conn:
            done(ledger_check(conn, config, migrations))
            for result in sql_checks(conn, sql_dir, timeout):
                done(result)
    except RallyError as exc:
        done(CheckResult("db", "database", False, str(exc)))
    connected = not any(r.kind == "db" for r in results)
    if connected and drift_mode(config) != "off":
        done(drift_check(config, target))
    for probe in probes:
        outcome = poll(
            probe,
            on_retry=lambda detail, wait, name=probe.name: report(  # type: ignore[misc]
                f"  ...   http   {name}: {detail}; retrying in {wait:.1f}s"
            ),
        )
        done(CheckResult("http", probe.name, outcome.ok, outcome.detail))
    return results


def _number(item: dict[str, Any], key: str, default: float, where: str, kind: type = float) -> Any:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: {key} must be a non-negative number")
    if kind is int and not isinstance(value, int):
        raise ConfigError(f"{where}: {key} must be an integer")
    return kind(value)
