"""``[tool.rally_gitops.lint]``: which checks run, how severe they are, what PostgreSQL to target.

Example::

    [tool.rally_gitops.lint]
    enable = ["prefer-bigint"]            # opt-in rules (type hygiene); "all" turns every one on
    disable = ["rollback-missing"]        # any code, built-in or rule
    severity = { ban-drop-column = "warning" }
    pg_version = 16                       # target server major version (default 16)
    max_file_bytes = 16777216             # larger files are refused by every command (16 MiB)
    base = "origin/main"                  # what `lint` compares against without FILES
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from rally_gitops.errors import ConfigError
from rally_gitops.files.migrations import MAX_FILE_BYTES
from rally_gitops.lint.model import Severity

KEYS = ("enable", "disable", "severity", "pg_version", "max_file_bytes", "base")
SEVERITIES = ("error", "warning")
DEFAULT_PG_VERSION = 16
DEFAULT_BASE = "origin/main"


class CodeInfo(NamedTuple):
    """One finding code the linter can report: its default severity, whether it is on by default,
    a one-line summary and the layer that reports it (file, grammar, rule, history...)."""

    code: str
    severity: Severity
    enabled: bool
    summary: str
    layer: str


class LintSettings(NamedTuple):
    """The resolved lint configuration."""

    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = MappingProxyType({})  # no overrides (read only)
    pg_version: int = DEFAULT_PG_VERSION
    max_file_bytes: int = MAX_FILE_BYTES
    base: str = DEFAULT_BASE

    def is_enabled(self, info: CodeInfo) -> bool:
        """True when ``info``'s code should be reported: disable wins over enable and defaults."""
        if info.code in self.disable:
            return False
        return info.enabled or info.code in self.enable or "all" in self.enable

    def severity_of(self, code: str, default: Severity) -> Severity:
        """The configured severity of ``code``, else its default."""
        return self.severity.get(code, default)


def parse(raw: Mapping[str, Any], known: Mapping[str, CodeInfo]) -> LintSettings:
    """Validate the raw table against the ``known`` codes; a ConfigError names every bad entry."""
    where = "[tool.rally_gitops.lint]"
    unknown_keys = sorted(set(raw) - set(KEYS))
    if unknown_keys:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown_keys)} (known: {', '.join(KEYS)})"
        )
    enable = _codes(raw, "enable", known, allow_all=True)
    disable = _codes(raw, "disable", known, allow_all=False)
    both = sorted(enable & disable)
    if both:
        raise ConfigError(f"{where}: {', '.join(both)} both enabled and disabled; pick one")
    severity = raw.get("severity", {})
    if not isinstance(severity, Mapping):
        raise ConfigError(f'{where} severity must be a table such as {{ code = "warning" }}')
    bad_codes = sorted(str(code) for code in severity if code not in known)
    if bad_codes:
        raise ConfigError(f"{where} severity: unknown rule code(s) {', '.join(bad_codes)}")
    bad_levels = sorted(f"{c} = {v!r}" for c, v in severity.items() if v not in SEVERITIES)
    if bad_levels:
        raise ConfigError(
            f'{where} severity: {", ".join(bad_levels)}: expected "error" or "warning"'
        )
    pg_version = _integer(raw, "pg_version", DEFAULT_PG_VERSION, low=9, high=99)
    max_file_bytes = _integer(raw, "max_file_bytes", MAX_FILE_BYTES, low=1, high=2**40)
    base = raw.get("base", DEFAULT_BASE)
    if not isinstance(base, str) or not base.strip() or base.startswith("-"):
        raise ConfigError(f"{where} base = {base!r}: expected a git ref such as 'origin/main'")
    return LintSettings(
        enable=enable,
        disable=disable,
        severity=dict(severity),
        pg_version=pg_version,
        max_file_bytes=max_file_bytes,
        base=base.strip(),
    )


def _codes(
    raw: Mapping[str, Any], key: str, known: Mapping[str, CodeInfo], *, allow_all: bool
) -> frozenset[str]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'[tool.rally_gitops.lint] {key} must be a list of codes, e.g. ["x"]')
    allowed = set(known) | ({"all"} if allow_all else set())
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(
            f"[tool.rally_gitops.lint] {key}: unknown rule code(s) {', '.join(unknown)} "
            "(`rally-gitops lint --list-codes` shows them all)"
        )
    return frozenset(value)


def _integer(raw: Mapping[str, Any], key: str, default: int, *, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"[tool.rally_gitops.lint] {key} = {value!r}: expected a whole number "
            f"from {low} to {high}"
        )
    return value
