"""Configuration: defaults without a file, [tool.rally_gitops] values, clear errors, targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from rally_gitops.config import find_root, load
from rally_gitops.errors import ConfigError
from rally_gitops.postgres.db import resolve


def write(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
    return root


def test_defaults_need_no_file(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    config = load(tmp_path)
    assert config.root == tmp_path.resolve()
    assert config.migrations_dir == tmp_path.resolve() / "migrations"
    assert config.ledger_schema == "rally_gitops"
    assert (config.lock_timeout, config.statement_timeout) == ("5s", "0")
    assert config.lock_retries == 3 and config.deploy_lock_wait == 60.0
    assert config.state_dir == tmp_path.resolve() / ".rally"
    envs = config.environments
    assert list(envs) == ["local", "staging", "production"]
    assert (envs["local"].url_env, envs["local"].embedded) == ("DATABASE_URL", True)
    assert envs["staging"].url_env == "DATABASE_STAGING_URL" and not envs["staging"].production
    assert (envs["production"].url_env, envs["production"].production) == (
        "DATABASE_PUBLIC_URL",
        True,
    )
    assert config.section("lint") == {}


def test_values_from_pyproject(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "[tool.rally_gitops]\n"
        'migrations_dir = "db/migrations"\nledger_schema = "schema_ledger"\n'
        'lock_timeout = "500ms"\nstatement_timeout = 30\nlock_retries = 5\ndeploy_lock_wait = 2.5\n'
        '[tool.rally_gitops.environments.qa]\nurl_env = "DATABASE_QA_URL"\n'
        "[tool.rally_gitops.environments.staging]\nproduction = true\n"
        '[tool.rally_gitops.lint]\nignore = ["x"]\n',
    )
    config = load(root)
    assert config.migrations_dir == root.resolve() / "db" / "migrations"
    assert config.ledger_schema == "schema_ledger"
    assert (config.lock_timeout, config.statement_timeout) == ("500ms", "30")
    assert (config.lock_retries, config.deploy_lock_wait) == (5, 2.5)
    assert config.environments["qa"].url_env == "DATABASE_QA_URL"
    assert config.environments["staging"].production  # merged over the default
    assert config.environments["staging"].url_env == "DATABASE_STAGING_URL"
    assert config.section("lint") == {"ignore": ["x"]}


def test_found_from_a_subdirectory(tmp_path: Path) -> None:
    root = write(tmp_path / "proj", '[tool.rally_gitops]\nmigrations_dir = "sql"\n')
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    assert find_root(deep) == root.resolve()
    assert load(deep).migrations_dir == root.resolve() / "sql"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.rally_gitops\n", "not valid TOML"),
        ('[tool]\nrally_gitops = "x"\n', "must be a table"),
        ("[tool.rally_gitops]\nmigrations_dir = 3\n", "migrations_dir = 3: wrong type"),
        (
            '[tool.rally_gitops]\nledger_schema = "Bad-Name"\n',
            "must be a lower-case SQL identifier",
        ),
        ('[tool.rally_gitops]\nlock_timeout = "soon"\n', "expected a duration"),
        ('[tool.rally_gitops]\nstatement_timeout = "5 parsecs"\n', "expected a duration"),
        ('[tool.rally_gitops]\nlock_retries = "3"\n', "lock_retries = '3': wrong type"),
        ("[tool.rally_gitops]\nlock_retries = true\n", "wrong type"),
        ('[tool.rally_gitops]\ndeploy_lock_wait = "1m"\n', "wrong type"),
        ('[tool.rally_gitops]\nenvironments = "x"\n', "environments] must be a table"),
        ('[tool.rally_gitops.environments.qa]\nurl = "X"\n', "unknown key(s) url"),
        ("[tool.rally_gitops.environments.qa]\nproduction = true\n", "url_env"),
        ('[tool.rally_gitops]\nlint = "strict"\n', None),
    ],
)
def test_bad_configuration_is_one_clear_error(
    tmp_path: Path, text: str, message: str | None
) -> None:
    root = write(tmp_path, text)
    if message is None:  # only a problem once the section is read
        with pytest.raises(ConfigError, match=r"lint\] must be a table"):
            load(root).section("lint")
        return
    with pytest.raises(ConfigError) as exc:
        load(root)
    assert message in str(exc.value)
    assert exc.value.exit_code == 2


def test_resolve_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(write(tmp_path, "[tool.rally_gitops]\n"))
    monkeypatch.setenv("DATABASE_STAGING_URL", "  postgresql://app:hunter22@db:5432/app  ")
    target = resolve(config, "staging")
    assert target.url == "postgresql://app:hunter22@db:5432/app"
    assert target.shown == "postgresql://app:***@db:5432/app"
    assert target.label == "staging (postgresql://app:***@db:5432/app)"
    assert not target.embedded
    with pytest.raises(ConfigError, match="DATABASE_PUBLIC_URL is not set"):
        resolve(config, "production")
    with pytest.raises(ConfigError, match="unknown environment 'qa'"):
        resolve(config, "qa")
    monkeypatch.setenv("DATABASE_URL", "postgresql://me@localhost/dev")
    assert resolve(config, "local").url == "postgresql://me@localhost/dev"  # the variable wins
