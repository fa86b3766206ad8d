"""Layer 1, transaction structure: BEGIN first and COMMIT last, or none at all.

The deploy engine drops a file's outer BEGIN/COMMIT so that the ledger row joins the same
transaction, and refuses transaction control anywhere else; ``psql -f`` must behave the same.
"""

from __future__ import annotations

from pathlib import Path

from rally_gitops.files.migrations import Migration
from rally_gitops.files.statements import (
    ABORT_RE,
    BEGIN_RE,
    COMMIT_RE,
    Statement,
)
from rally_gitops.lint.model import Finding, Severity


def check_transactions(migration: Migration) -> list[Finding]:
    """BEGIN first and COMMIT last, nothing else; none at all in a no-transaction file."""
    path, statements = migration.path, migration.statements
    kinds = [(s, _kind(s)) for s in statements]
    control = [(s, kind) for s, kind in kinds if kind]
    real = [s for s, kind in kinds if not kind]
    findings: list[Finding] = []
    if not real:
        where = statements[0].line if statements else 1
        findings.append(
            _finding(
                path,
                where,
                "file-empty",
                "no SQL statements in the up part: the migration does nothing",
                "write the change between BEGIN; and COMMIT; (is it all commented out?)",
            )
        )
    if migration.no_transaction:
        for stmt, kind in control:
            findings.append(
                _at(
                    path,
                    stmt,
                    "no-transaction-begin",
                    f"{kind} in a -- rally:no-transaction migration: statements meant to run "
                    "outside a transaction would run inside one, or a transaction is left open",
                    "remove the transaction control, or drop the no-transaction marker",
                )
            )
        return findings
    if not control:
        if real:
            findings.append(
                _at(
                    path,
                    real[0],
                    "transaction-missing",
                    "no BEGIN/COMMIT: `psql -f` would apply the statements one by one, so a "
                    "failure leaves the change half done",
                    "wrap the statements in BEGIN; ... COMMIT;, or mark the file "
                    "-- rally:no-transaction if it must run outside a transaction",
                )
            )
        return findings
    first, last = statements[0], statements[-1]
    opened = _kind(first) == "BEGIN"
    closed = _kind(last) == "COMMIT" and last is not first
    for stmt, kind in control:
        if stmt is first and opened:
            if not any(k == "COMMIT" for _, k in control):
                findings.append(
                    _at(
                        path,
                        stmt,
                        "transaction-unbalanced",
                        "BEGIN without COMMIT: the transaction is never committed, psql rolls "
                        "it back at exit",
                        "end the up part with COMMIT;",
                    )
                )
        elif stmt is last and opened and closed:
            continue
        elif kind == "COMMIT" and not opened and stmt is last:
            findings.append(
                _at(
                    path,
                    stmt,
                    "transaction-unbalanced",
                    f"{_word(stmt)} without BEGIN: the statements before it ran without a "
                    "transaction",
                    "start the up part with BEGIN;",
                )
            )
        else:
            findings.append(
                _at(
                    path,
                    stmt,
                    "transaction-unbalanced",
                    f"{_word(stmt)} in the middle of the migration: nested or split transactions "
                    "commit part of the change; the deploy refuses them",
                    "keep one BEGIN first and one COMMIT last; split the file into two "
                    "migrations instead",
                )
            )
    return findings


_CONTROL_WORDS = ("begin", "start", "commit", "end", "rollback", "abort")


def _kind(stmt: Statement) -> str:
    # a statement's text starts at its first code character, so each pattern below needs one of
    # these words there: most statements (CREATE, ALTER...) are answered without a closer look
    if not stmt.sql[:8].lower().startswith(_CONTROL_WORDS):
        return ""
    words = _first_words(stmt.sql)
    if BEGIN_RE.match(words):
        return "BEGIN"
    if COMMIT_RE.match(words):
        return "COMMIT"
    if ABORT_RE.match(words):
        return "ROLLBACK"
    return ""


def _word(stmt: Statement) -> str:
    return _first_words(stmt.sql).split(" ", 1)[0].upper().rstrip(";")


def _first_words(sql: str) -> str:
    lines = [ln for ln in sql.split("\n") if not ln.lstrip().startswith("--")]
    return " ".join(" ".join(lines).split())[:64]


def _at(path: Path, stmt: Statement, code: str, message: str, help: str) -> Finding:
    severity: Severity = "warning" if code == "transaction-missing" else "error"
    return Finding(str(path), stmt.line, stmt.column, severity, code, message, help)


def _finding(path: Path, line: int, code: str, message: str, help: str) -> Finding:
    return Finding(str(path), line, 1, "error", code, message, help)
