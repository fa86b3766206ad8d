"""The application half of a release: settings, the deploy trigger and the health wait.

Configuration, per environment over shared defaults::

    [tool.rally_gitops.release]
    health_json_field = "commit"          # the health endpoint reports the running commit
    deadline = 300                        # seconds to wait for it

    [tool.rally_gitops.release.staging]
    deploy_hook_url_env = "RAILWAY_DEPLOY_HOOK_STAGING"   # POSTed; a secret, hence a variable
    health_url_env = "APP_HEALTH_URL_STAGING"

    [tool.rally_gitops.release.production]
    deploy_command = ["railway", "up", "--service", "api", "--environment", "production"]
    health_url_env = "APP_HEALTH_URL"
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from typing import Any

from rally_gitops import __version__
from rally_gitops.config import Config
from rally_gitops.delivery.probe import (
    Probe,
    current_commit,
    expand,
    poll,
    protect_url,
    request_error,
)
from rally_gitops.errors import ConfigError, DeployError
from rally_gitops.redact import child_environ, register_secret, scrub
from rally_gitops.steps import Report

_KEYS: dict[str, type | tuple[type, ...]] = {
    "deploy_hook_url_env": str, "deploy_hook_timeout": (int, float),
    "deploy_command": list, "deploy_command_timeout": (int, float),
    "health_url_env": str, "health_url": str, "health_json_field": str, "health_expect": str,
    "health_expect_status": int, "health_timeout": (int, float),
    "health_interval": (int, float), "deadline": (int, float),
    "smoke": bool,
}  # fmt: skip


@dataclass(frozen=True)
class AppDeploy:
    """How to deploy the application of one environment, resolved and validated."""

    env: str
    hook_env: str | None = None
    hook_url: str | None = None
    hook_timeout: float = 30.0
    command: tuple[str, ...] = ()
    command_shown: str = ""
    command_timeout: float = 1800.0
    health: Probe | None = None
    sha: str | None = None
    smoke: bool = True

    @property
    def trigger(self) -> str:
        """How the application is deployed, safe to print."""
        if self.hook_url:
            return f"deploy hook ${self.hook_env}"
        if self.command:
            return f"command `{self.command_shown}`"
        return "not configured"


def settings(config: Config, env: str) -> dict[str, Any]:
    """``[tool.rally_gitops.release]`` with ``[tool.rally_gitops.release.<env>]`` over it."""
    table = config.section("release")
    merged = {k: v for k, v in table.items() if not isinstance(v, dict)}
    for name, value in table.items():
        if isinstance(value, dict) and name not in config.environments:
            raise ConfigError(f"[tool.rally_gitops.release.{name}]: no environment {name!r}")
    own = table.get(env, {})
    merged.update(own)
    where = f"[tool.rally_gitops.release{'.' + env if own else ''}]"
    for key, value in merged.items():
        kind = _KEYS.get(key)
        if kind is None:
            raise ConfigError(f"{where}: unknown key {key!r}")
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(f"{where}: {key} = {value!r} has the wrong type")
    if merged.get("deploy_hook_url_env") and merged.get("deploy_command"):
        raise ConfigError(f"{where}: set deploy_hook_url_env or deploy_command, not both")
    return merged


def resolve(config: Config, env: str) -> AppDeploy:
    """Everything the release needs, checked before anything runs (missing variable = exit 2)."""
    raw = settings(config, env)
    where = f"[tool.rally_gitops.release] ({env})"
    hook_env = raw.get("deploy_hook_url_env")
    hook_url = _variable(hook_env, where, "deploy_hook_url_env") if hook_env else None
    if hook_url:
        register_secret(hook_url)  # hook URLs embed their token in the path or the query
        protect_url(hook_url)
    command = raw.get("deploy_command", [])
    if command and not all(isinstance(part, str) and part for part in command):
        raise ConfigError(f"{where}: deploy_command must be a list of strings (argv, no shell)")
    health = None
    health_url = raw.get("health_url")
    if raw.get("health_url_env"):
        health_url = _variable(raw["health_url_env"], where, "health_url_env")
        shown = f"${raw['health_url_env']}"
    elif health_url:
        shown = health_url
        health_url = expand(health_url, where=where, root=config.root)
    sha = current_commit(config.root)
    if health_url:
        field = raw.get("health_json_field")
        # the new commit in the JSON field by default; without a field, an explicit
        # health_expect is compared with the whole body (a plain-text /version endpoint)
        wanted = raw.get("health_expect", "${GIT_SHA}" if field else None)
        expect: Any = expand(wanted, where=where, root=config.root) if wanted else None
        protect_url(health_url)
        if not health_url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: the health URL ({shown}) must start with http(s)://")
        health = Probe(
            name=shown,
            url=health_url,
            expect_status=int(raw.get("health_expect_status", 200)),
            json_field=field,
            expect=expect,
            timeout=float(raw.get("health_timeout", 10)),
            deadline=float(raw.get("deadline", 300)),
            interval=float(raw.get("health_interval", 1)),
        )
    return AppDeploy(
        env=env,
        hook_env=hook_env,
        hook_url=hook_url,
        hook_timeout=float(raw.get("deploy_hook_timeout", 30)),
        command=tuple(expand(p, where=where, root=config.root) for p in command),
        command_shown=" ".join(command),
        command_timeout=float(raw.get("deploy_command_timeout", 1800)),
        health=health,
        sha=sha,
        smoke=bool(raw.get("smoke", True)),
    )


def trigger(app: AppDeploy, config: Config, report: Report) -> str:
    """Start the application deploy; returns a one-line summary, raises ``DeployError``."""
    if app.hook_url:
        return _post_hook(app)
    if app.command:
        return _run_command(app, config, report)
    return "skipped (no deploy_hook_url_env or deploy_command configured)"


def wait_healthy(app: AppDeploy, report: Report) -> str:
    """Poll the health URL until it reports the new commit or the deadline passes."""
    if app.health is None:
        return "skipped (no health_url_env configured)"
    outcome = poll(
        app.health,
        on_retry=lambda detail, wait: report(f"waiting: {detail}; next try in {wait:.1f}s"),
    )
    if not outcome.ok:
        raise DeployError(
            f"{app.health.name} did not become healthy within {app.health.deadline:g}s: "
            f"{outcome.detail}"
        )
    return f"{outcome.detail} after {outcome.attempts} request(s)"


def _post_hook(app: AppDeploy) -> str:
    import requests

    assert app.hook_url is not None
    try:
        response = requests.post(
            app.hook_url,
            timeout=app.hook_timeout,
            headers={"User-Agent": f"rally-gitops/{__version__}"},
        )
    except requests.RequestException as exc:
        raise DeployError(f"deploy hook ${app.hook_env}: {request_error(exc)}") from None
    if not 200 <= response.status_code < 300:
        body = scrub(" ".join(response.text.split()))[:200]
        raise DeployError(
            f"deploy hook ${app.hook_env} answered HTTP {response.status_code}"
            + (f": {body}" if body else "")
        )
    return f"deploy hook ${app.hook_env} accepted (HTTP {response.status_code})"


def _run_command(app: AppDeploy, config: Config, report: Report) -> str:
    env = dict(child_environ(), RALLY_ENV=app.env, RALLY_GIT_SHA=app.sha or "")
    try:
        proc = subprocess.Popen(
            list(app.command),
            cwd=config.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise DeployError(
            f"deploy_command `{app.command_shown}` could not start: {exc.strerror or exc} "
            "(is the CLI installed and on PATH?)"
        ) from None
    assert proc.stdout is not None
    # the timer kills a hung CLI: reading its output below would otherwise block forever
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(app.command_timeout, kill)
    timer.start()
    try:
        # streamed line by line: platform CLIs print their build logs and CI shows them live
        for line in proc.stdout:
            report(scrub(line.rstrip("\n")))
        code = proc.wait()
    finally:
        timer.cancel()
    if killed.is_set():
        raise DeployError(
            f"deploy_command `{app.command_shown}` ran longer than {app.command_timeout:g}s "
            "and was stopped"
        )
    if code != 0:
        raise DeployError(f"deploy_command `{app.command_shown}` exited with status {code}")
    return f"`{app.command_shown}` succeeded"


def _variable(name: str, where: str, key: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{where}: {key} names ${name}, which is not set")
    return value
