"""``[tool.rally_gitops.backup]``: where backups go, how many to keep, what to take.

Configuration, all optional::

    [tool.rally_gitops.backup]
    dir = ".rally/backups/{env}"      # {env} is replaced; without it, /<env> is appended
    keep = 10                         # per environment; 0 keeps everything
    kinds = { local = ["schema"] }    # or a list for every environment; default full + schema
    allow_no_backup = false           # true, or a list of environments, to allow --no-backup there
    pg_dump = "/usr/lib/postgresql/18/bin/pg_dump"
    require_staging = true            # promotion guard for production deploys
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from rally_gitops.config import Config, Environment
from rally_gitops.errors import ConfigError

KINDS = ("full", "schema")
_KEYS = {"dir", "keep", "kinds", "allow_no_backup", "pg_dump", "require_staging"}


class BackupSettings(NamedTuple):
    """``[tool.rally_gitops.backup]``, validated."""

    dir: str = ".rally/backups/{env}"
    keep: int = 10
    kinds: Any = ("full", "schema")
    allow_no_backup: Any = False
    pg_dump: str | None = None
    require_staging: bool = True

    def directory(self, root: Path, env: str) -> Path:
        """Where the backups of ``env`` live."""
        base = self.dir.replace("<env>", "{env}")
        path = Path(base.replace("{env}", env) if "{env}" in base else f"{base}/{env}")
        return path if path.is_absolute() else root / path

    def kinds_for(self, env: str) -> tuple[str, ...]:
        """The kinds taken by default for ``env``."""
        kinds = self.kinds.get(env, KINDS) if isinstance(self.kinds, dict) else self.kinds
        return tuple(kinds)

    def no_backup_allowed(self, env: Environment) -> bool:
        """``--no-backup`` is refused for production unless ``allow_no_backup`` says otherwise."""
        if not env.production or self.allow_no_backup is True:
            return True
        return isinstance(self.allow_no_backup, list) and env.name in self.allow_no_backup


def settings(config: Config) -> BackupSettings:
    """Read and validate ``[tool.rally_gitops.backup]``."""
    raw = config.section("backup")
    unknown = set(raw) - _KEYS
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ConfigError(f"[tool.rally_gitops.backup]: unknown key(s) {names}")
    result = BackupSettings(**raw)
    if not isinstance(result.dir, str) or not result.dir:
        raise ConfigError("[tool.rally_gitops.backup] dir must be a path")
    if not isinstance(result.keep, int) or isinstance(result.keep, bool) or result.keep < 0:
        raise ConfigError("[tool.rally_gitops.backup] keep must be a whole number >= 0")
    kinds = result.kinds.values() if isinstance(result.kinds, dict) else [result.kinds]
    for value in kinds:
        if not isinstance(value, list | tuple) or not value or set(value) - set(KINDS):
            raise ConfigError(
                '[tool.rally_gitops.backup] kinds: expected a list such as ["full", "schema"] '
                "(or a table of such lists per environment)"
            )
    if not isinstance(result.allow_no_backup, bool | list):
        raise ConfigError("[tool.rally_gitops.backup] allow_no_backup: true, false or a list")
    if not isinstance(result.require_staging, bool):
        raise ConfigError("[tool.rally_gitops.backup] require_staging must be true or false")
    return result


def check_no_backup(config: Config, env: Environment, no_backup: bool) -> None:
    """Refuse ``--no-backup`` for production unless ``allow_no_backup`` permits it."""
    if no_backup and not settings(config).no_backup_allowed(env):
        raise ConfigError(
            f"--no-backup is refused for {env.name} (a production environment); set "
            "[tool.rally_gitops.backup] allow_no_backup = true to permit it"
        )
