"""Configuration: ``[tool.rally_gitops]`` in pyproject.toml, with defaults that need no file.

Example::

    [tool.rally_gitops]
    migrations_dir = "db/migrations"
    lock_timeout = "3s"

    [tool.rally_gitops.environments.qa]
    url_env = "DATABASE_QA_URL"
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from rally_gitops.errors import ConfigError

DEFAULT_ENVIRONMENTS: dict[str, dict[str, Any]] = {
    "local": {"url_env": "DATABASE_URL", "embedded": True},
    "staging": {"url_env": "DATABASE_STAGING_URL"},
    "production": {"url_env": "DATABASE_PUBLIC_URL", "production": True},
}
_DURATION = re.compile(r"^\d+(\.\d+)?\s*(ms|s|min|h)?$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Environment(NamedTuple):
    """A deploy target: its name, the variable holding its URL and how careful to be with it."""

    name: str
    url_env: str
    production: bool = False
    embedded: bool = False


class Config(NamedTuple):
    """The resolved configuration of one project (a NamedTuple, as every record that ``status``
    and a deploy build at start-up: ``dataclasses`` imports ``inspect``, a tenth of ``status``)."""

    root: Path
    migrations_dir: Path
    ledger_schema: str = "rally_gitops"
    lock_timeout: str = "5s"
    statement_timeout: str = "0"
    lock_retries: int = 3
    deploy_lock_wait: float = 60.0
    synchronous_commit_each: bool = False
    # deploys to these environments refuse migration files that are not committed at HEAD
    require_committed: tuple[str, ...] = ("staging", "production")
    environments: dict[str, Environment] = {}  # shared default: load() always passes its own
    raw: dict[str, Any] = {}

    @property
    def state_dir(self) -> Path:
        """``.rally/`` at the project root: embedded server, caches, backups (gitignored)."""
        return self.root / ".rally"

    def section(self, name: str) -> dict[str, Any]:
        """A sub-table such as ``[tool.rally_gitops.lint]`` (empty when absent)."""
        value = self.raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[tool.rally_gitops.{name}] must be a table")
        return value

    def environment(self, name: str) -> Environment:
        """The environment called ``name``; a usage error naming the known ones otherwise."""
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments)
            raise ConfigError(f"unknown environment {name!r} (configured: {known})") from None


def find_project(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` with a pyproject.toml or .git, if any."""
    start = (start or Path.cwd()).resolve()
    for candidate in (start, *start.parents):
        if (candidate / "pyproject.toml").is_file() or (candidate / ".git").exists():
            return candidate
    return None


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` with a pyproject.toml or .git, else ``start``."""
    start = (start or Path.cwd()).resolve()
    return find_project(start) or start


def command_line(config: Config, *args: str | Path) -> str:
    """A ``rally-gitops`` command that runs as printed from the current directory.

    ``-C DIR`` when the project is not the one found from here; a ``Path`` argument relative
    to here (absolute when outside); each word shell-quoted.
    """
    import shlex  # only for the commands that print a command line

    here = Path.cwd().resolve()
    words = ["rally-gitops"]
    if find_root(here) != config.root.resolve():
        words += ["-C", _from_here(config.root, here)]
    words += [_from_here(arg, here) if isinstance(arg, Path) else arg for arg in args]
    return shlex.join(words)


def _from_here(path: Path, here: Path) -> str:
    path = path.resolve()
    return path.relative_to(here).as_posix() or "." if path.is_relative_to(here) else str(path)


def load(root: Path | None = None) -> Config:
    """Read ``[tool.rally_gitops]`` from ``root``/pyproject.toml (all optional) and validate it."""
    root = find_root(root)
    raw: dict[str, Any] = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
        raw = data.get("tool", {}).get("rally_gitops", {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{pyproject}: [tool.rally_gitops] must be a table")
    migrations_dir = root / _get(raw, "migrations_dir", str, "migrations")
    schema = _get(raw, "ledger_schema", str, "rally_gitops")
    if not _IDENT.match(schema):
        raise ConfigError(f"ledger_schema {schema!r} must be a lower-case SQL identifier")
    lock_timeout = _duration(raw, "lock_timeout", "5s")
    statement_timeout = _duration(raw, "statement_timeout", "0")
    lock_retries = _get(raw, "lock_retries", int, 3)
    deploy_lock_wait = float(_get(raw, "deploy_lock_wait", (int, float), 60))
    synchronous_commit_each = _flag(raw, "synchronous_commit_each", False)
    environments = _environments(raw.get("environments", {}))
    return Config(
        root=root,
        migrations_dir=migrations_dir,
        ledger_schema=schema,
        lock_timeout=lock_timeout,
        statement_timeout=statement_timeout,
        lock_retries=lock_retries,
        deploy_lock_wait=deploy_lock_wait,
        synchronous_commit_each=synchronous_commit_each,
        require_committed=_names(raw, "require_committed", ("staging", "production"), environments),
        environments=environments,
        raw=raw,
    )


def _environments(table: Any) -> dict[str, Environment]:
    if not isinstance(table, dict):
        raise ConfigError("[tool.rally_gitops.environments] must be a table")
    merged = {name: dict(values) for name, values in DEFAULT_ENVIRONMENTS.items()}
    for name, values in table.items():
        if not isinstance(values, dict):
            raise ConfigError(f"[tool.rally_gitops.environments.{name}] must be a table")
        unknown = set(values) - {"url_env", "production", "embedded"}
        if unknown:
            raise ConfigError(f"environments.{name}: unknown key(s) {', '.join(sorted(unknown))}")
        merged.setdefault(name, {}).update(values)
    envs = {}
    for name, values in merged.items():
        if "url_env" not in values:
            raise ConfigError(
                f"environments.{name}: url_env (the variable with its URL) is missing"
            )
        envs[name] = Environment(
            name=name,
            url_env=str(values["url_env"]),
            production=bool(values.get("production", False)),
            embedded=bool(values.get("embedded", False)),
        )
    return envs


def _names(
    raw: dict[str, Any], key: str, default: tuple[str, ...], environments: dict[str, Any]
) -> tuple[str, ...]:
    """A list of environment names, each one configured."""
    value = raw.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"[tool.rally_gitops] {key} = {value!r}: expected a list of environment names"
        )
    unknown = [name for name in value if name not in environments]
    if unknown:
        raise ConfigError(
            f"[tool.rally_gitops] {key}: unknown environment(s) {', '.join(unknown)} "
            f"(configured: {', '.join(environments)})"
        )
    return tuple(value)


def _get(raw: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = raw.get(key, default)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(f"[tool.rally_gitops] {key} = {value!r}: wrong type")
    return value


def _flag(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"[tool.rally_gitops] {key} = {value!r}: expected true or false")
    return value


def _duration(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    value = str(value) if isinstance(value, int) else value
    if not isinstance(value, str) or not _DURATION.match(value.strip()):
        raise ConfigError(
            f"[tool.rally_gitops] {key} = {value!r}: "
            "expected a duration such as '5s', '500ms', '2min'"
        )
    return value.strip()


def env_flag(name: str) -> bool:
    """True when the environment variable is set to a true-ish value (CI=true, CI=1)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
