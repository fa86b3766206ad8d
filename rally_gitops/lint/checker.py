"""The lint pipeline: for each file the file layer, the grammar, the safety rules, then history.

Then ``rally:ignore`` directives, ``enable``/``disable`` and severity overrides from
``[tool.rally_gitops.lint]`` are applied. Findings are return values; a crashing rule becomes an
``internal-error`` finding naming the rule, never a traceback.

Example::

    config = rally_gitops.config.load()
    findings = lint_files(config, [Path("migrations/20241208_143000_add_prefs.sql")])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rally_gitops.config import Config
from rally_gitops.errors import RallyError
from rally_gitops.files.migrations import Migration
from rally_gitops.lint import file_checks, grammar, ignores
from rally_gitops.lint.model import AnalysedStatement, FileContext, Finding, Rule, Violation
from rally_gitops.lint.parsing import analyse
from rally_gitops.lint.rules import INDEX, Entry, load
from rally_gitops.lint.schema_history import folds, keep, remember
from rally_gitops.lint.settings import CodeInfo, LintSettings, parse
from rally_gitops.lint.workers import run_split, worker_count
from rally_gitops.replay.measured import CODES as MEASURED

INTERNAL = CodeInfo("internal-error", "error", True, "a lint rule crashed on this file", "rule")
# The history layer's codes (rally_gitops.history); listed here so that configuration naming them
# is valid without importing git machinery.
HISTORY_CODES = {
    info.code: info
    for info in (
        CodeInfo(
            "edited-committed-migration",
            "error",
            True,
            "a committed migration was edited",
            "history",
        ),
        CodeInfo(
            "edited-committed-rollback",
            "warning",
            True,
            "the rollback section of a committed migration changed",
            "history",
        ),
        CodeInfo(
            "deleted-committed-migration",
            "error",
            True,
            "a committed migration was deleted",
            "history",
        ),
        CodeInfo(
            "renamed-committed-migration",
            "error",
            True,
            "a committed migration was renamed",
            "history",
        ),
        CodeInfo(
            "version-older-than-committed",
            "error",
            True,
            "a new migration is older than the newest committed one",
            "history",
        ),
    )
}


# The codes of replay's measurements (rally_gitops.replay.measured): known here so that
# configuration (disable, severity) and rally:ignore directives may name them; the linter itself
# never reports them, so an ignore of one is never "unused" in a lint run.
MEASURED_CODES = {
    code: CodeInfo(code, severity, True, summary, "replay")
    for code, (severity, summary) in MEASURED.items()
}


def load_rule(entry: Entry) -> Rule:
    """The rule of an index entry, its module imported on first use (``RallyError`` when the
    module is broken: never a traceback)."""
    try:
        return load(entry)
    except Exception as exc:  # noqa: BLE001 - a broken rule module must not become a traceback
        raise RallyError(f"cannot load the lint rules: {type(exc).__name__}: {exc}") from None


def rule_info(rule: Rule | Entry) -> CodeInfo:
    """A rule's code, default severity, default state and summary."""
    return CodeInfo(rule.code, rule.severity, rule.enabled, rule.summary, "rule")


def catalog(known: Sequence[Rule | Entry] | None = None) -> dict[str, CodeInfo]:
    """Every code the linter can report, built-in layers first, then the rules (by default those
    of ``rules.INDEX``, none of them imported)."""
    codes: dict[str, CodeInfo] = {}
    for layer in (file_checks.CODES, grammar.CODES, ignores.CODES, HISTORY_CODES, MEASURED_CODES):
        codes.update(layer)
    codes[INTERNAL.code] = INTERNAL
    for rule in INDEX if known is None else known:
        codes[rule.code] = rule_info(rule)
    return codes


def load_settings(config: Config, codes: dict[str, CodeInfo]) -> LintSettings:
    """``[tool.rally_gitops.lint]`` validated against the known codes (ConfigError if bad)."""
    return parse(config.section("lint"), codes)


class Checker:
    """Lints files with one configuration; reusable across files (rules are loaded once)."""

    def __init__(
        self,
        config: Config,
        *,
        settings: LintSettings | None = None,
        rules: Sequence[Rule] | None = None,
        workers: int | None = None,
    ) -> None:
        self.config = config
        self.workers = workers  # processes for many files; None: one per core (lint.workers)
        # the rules from the index, each module imported when a file first needs it; rules
        # given here (tests) are already loaded and run on every file
        given = tuple(rules) if rules is not None else None
        self.codes = catalog(given)
        self.settings = settings or load_settings(config, self.codes)
        self.active = {c for c, info in self.codes.items() if self.settings.is_enabled(info)}
        self._loaded: dict[str, Rule] = {r.code: r for r in given or ()}
        self._kinds: list[tuple[str, frozenset[str] | None]] = [
            (r.code, frozenset(r.kinds) if isinstance(r, Entry) and r.kinds is not None else None)
            for r in (INDEX if given is None else given)
            if r.code in self.active
        ]
        self._entries = {entry.code: entry for entry in INDEX}
        self._run: dict[str, Any] = {}  # FileContext.run of the files of one ``check``

    def check(
        self,
        paths: Sequence[Path],
        *,
        extra: Sequence[Finding] | Callable[[], Sequence[Finding]] = (),
    ) -> list[Finding]:
        """Every finding for ``paths``, sorted; ``extra`` are findings from the history layer, or
        a function that returns them once the files are checked (``workers.background``: the
        history layer then runs beside the checks, and only the files it has findings about are
        checked again with them).

        Extra findings about one of ``paths`` go through that file's ignore directives and the
        settings like the others; the rest (a deleted file) only through the settings.
        """
        later = extra if callable(extra) else None
        loose, attached = self._attach(paths, () if callable(extra) else extra)
        others = file_checks.siblings(self.config.migrations_dir, paths)
        duplicates: dict[str, list[Finding]] = {}
        for finding in file_checks.duplicate_versions(list(paths), others):
            duplicates.setdefault(finding.path, []).append(finding)
        jobs = [(p, [*duplicates.get(str(p), []), *attached.get(p, [])]) for p in paths]
        workers = self.workers or worker_count(len(jobs))
        if workers > 1:  # hundreds of files need most rules: import them once, before the fork
            for code, _ in self._kinds:
                self._loaded.get(code) or self._load(code)
        per_file: list[list[Finding]] = []
        kept: dict[Path, Any] = {}
        for found, reached in run_split(jobs, workers, self._check_run):
            per_file += found
            kept.update(reached)  # a later run's fold reaches further
        keep(kept)
        if later is not None:
            loose, attached = self._attach(paths, later())
            for index, (path, known) in enumerate(jobs):
                if path in attached:
                    per_file[index] = self.check_file(path, _shown(path), known + attached[path])
        findings = self._finish(loose, [])
        for found_here in per_file:
            findings += found_here
        return sorted(findings, key=Finding.sort_key)

    @staticmethod
    def _attach(
        paths: Sequence[Path], extra: Sequence[Finding]
    ) -> tuple[list[Finding], dict[Path, list[Finding]]]:
        """``extra`` split into those about none of ``paths`` and those about each of them."""
        wanted = {file_checks.resolved(p): p for p in paths} if extra else {}
        attached: dict[Path, list[Finding]] = {}
        loose: list[Finding] = []
        for finding in extra:
            target = wanted.get(file_checks.resolved(Path(finding.path)))
            if target is None:
                loose.append(finding)
            else:
                attached.setdefault(target, []).append(finding)
        return loose, attached

    def _check_run(
        self, jobs: Sequence[tuple[Path, list[Finding]]]
    ) -> tuple[list[list[Finding]], dict[Path, Any]]:
        """``check_file`` over a run of files in order; each file's findings, and the history
        folds it reached (the last run's are kept for the next process: ``schema_history.keep``)."""
        self._run = {}
        found = [self.check_file(path, _shown(path), extra) for path, extra in jobs]
        return found, folds(self._run)

    def check_file(self, path: Path, shown: str, extra: Iterable[Finding] = ()) -> list[Finding]:
        """All layers for one file; ``extra`` are findings from elsewhere (history, duplicates)."""
        display = Path(shown)
        data, problem, info = file_checks.read(path, self.settings.max_file_bytes)
        if data is None:
            return self._finish([replace(problem, path=shown)], []) if problem else []
        migration, found = file_checks.check_file(display, data, self.settings.max_file_bytes)
        found += [replace(f, path=shown) for f in extra]
        if migration is None:
            return self._finish(found, [])
        syntax = grammar.check_grammar(migration, display)
        if any(f.code == "syntax-error" for f in syntax):
            # statements cannot be told apart reliably past a syntax error (an unterminated
            # quote swallows the COMMIT): the structure findings would only add noise
            found = [f for f in found if f.code not in file_checks.STRUCTURE_CODES]
        found += syntax
        directives = ignores.parse_directives(migration)
        found += self.run_rules(migration, directives, shown, info=info)
        return self._finish(found, directives, shown)

    def run_rules(
        self,
        migration: Migration,
        directives: list[ignores.Directive],
        shown: str,
        *,
        info: os.stat_result | None = None,
    ) -> list[Finding]:
        """Each active rule over the analysed statements; a crash becomes ``internal-error``.

        A rule of the index runs only on a file with a statement of one of its kinds, or with
        one pglast could not parse (``rules.INDEX``): it could find nothing elsewhere. ``info``:
        the file's stat when the caller has it (``file_checks.read``)."""
        if not self._kinds:
            return []
        try:
            statements = analyse(migration)
        except Exception as exc:  # noqa: BLE001 - analysis must never take the linter down
            return [_internal(shown, "statement analysis", exc)]
        present = statement_kinds(statements)
        every = "NoneType" in present  # a statement without pglast's node: any rule may apply
        # a later file's history (catalog) reads this file's tables without parsing it again
        remember(migration.path, (st.pg for st in statements if st.pg is not None), info)
        ignores.mark_statements(statements, directives)
        ctx = FileContext(
            migration,
            statements,
            pg_version=self.settings.pg_version,
            ledger_schema=self.config.ledger_schema,
            history_store=self.config.state_dir / "lint-history.json",
            run=self._run,
        )
        found = []
        for code, kinds in self._kinds:
            if not (every or kinds is None or not present.isdisjoint(kinds)):
                continue
            rule = self._loaded.get(code) or self._load(code)
            try:
                for violation in rule.function(ctx):
                    found.append(self._from_violation(rule, violation, migration, shown))
            except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
                found.append(_internal(shown, f"rule {rule.code}", exc))
        return found

    def _load(self, code: str) -> Rule:
        rule = self._loaded[code] = load_rule(self._entries[code])
        return rule

    def history(self, paths: Sequence[Path], base: str | None) -> list[Finding]:
        """Layer 5 (git): edited, renamed, deleted committed migrations; out-of-order versions."""
        # git and the history layer only when asked: the lint hook on one file never needs them
        from rally_gitops.lint import history

        # the base as given: history.check falls back to HEAD when the default one is missing
        return history.check(self.config, base, files=list(paths))

    def _from_violation(
        self, rule: Rule, violation: Violation, migration: Migration, shown: str
    ) -> Finding:
        stmt = violation.statement.stmt
        line, column = stmt.line + violation.line_offset, stmt.column
        if violation.line_offset:
            lines = migration.text.split("\n")
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            column = len(text) - len(text.lstrip()) + 1
        return Finding(
            shown,
            line,
            column,
            violation.severity or rule.severity,
            rule.code,
            violation.message,
            violation.help,
        )

    def _finish(
        self, found: list[Finding], directives: list[ignores.Directive], path: str = ""
    ) -> list[Finding]:
        """Drop disabled codes, apply the directives, then the severity overrides."""
        enabled = [f for f in found if f.code in self.active or f.code not in self.codes]
        if directives:
            active = self.active - MEASURED_CODES.keys()
            enabled = ignores.apply(enabled, directives, path, known=self.codes, active=active)
            enabled = [f for f in enabled if f.code in self.active or f.code not in self.codes]
        return [replace(f, severity=self.settings.severity_of(f.code, f.severity)) for f in enabled]


def lint_files(
    config: Config,
    paths: Sequence[Path],
    *,
    history: bool = False,
    base: str | None = None,
    rules: Sequence[Rule] | None = None,
) -> list[Finding]:
    """Lint ``paths`` with the project's configuration; see ``Checker``."""
    checker = Checker(config, rules=rules)
    extra = checker.history(paths, base) if history else []
    return checker.check(paths, extra=extra)


def statement_kinds(statements: Iterable[AnalysedStatement]) -> set[str]:
    """The kinds of ``rules.INDEX`` the statements have: each pglast node's class name
    (``NoneType`` for a statement pglast could not parse), and ``AlterTableStmt.AT_AddColumn``
    and the like for each subcommand of an ALTER TABLE."""
    kinds = set()
    for st in statements:
        name = type(st.pg).__name__
        kinds.add(name)
        if name == "AlterTableStmt":
            kinds.update(f"{name}.{getattr(cmd.subtype, 'name', '')}" for cmd in st.pg.cmds or ())
    return kinds


def _internal(path: str, what: str, exc: Exception) -> Finding:
    return Finding(
        path,
        1,
        1,
        "error",
        INTERNAL.code,
        f"{what} crashed on this file ({type(exc).__name__}: {str(exc)[:200]}); the file was not "
        "fully checked",
        "please report this bug with the file; meanwhile disable the rule in "
        "[tool.rally_gitops.lint]",
    )


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when below it, printable whatever its bytes."""
    # what relpath gives, without its two getcwd calls and normalisations for the usual paths:
    # a relative one below the current directory (normpath'd), an absolute one under it
    text = str(path)
    if not path.is_absolute():
        relative = os.path.normpath(text)
    else:
        here = os.getcwd()
        inside = text.startswith(here + os.sep) and os.path.normpath(text) == text
        relative = text[len(here) + 1 :] if inside else ""
    if not relative or relative.startswith(".."):
        try:
            relative = os.path.relpath(path)
        except ValueError:
            relative = str(path)
    shown = str(path) if relative.startswith("..") else relative
    if shown.isprintable():  # (a surrogate escape is not printable either)
        return shown
    shown = shown.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "?" for c in shown)
