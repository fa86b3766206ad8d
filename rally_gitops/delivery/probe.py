"""HTTP probes: ``${VAR}`` expansion, one request checked against expectations, retries.

Used by ``smoke`` (configured HTTP checks) and ``release`` (waiting for the health URL to report the
new commit). URLs often carry tokens, so a probe is always *shown* by its name or its unexpanded
template, and every expanded value is registered as a secret before any request is made.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from rally_gitops.errors import ConfigError
from rally_gitops.git import head_sha
from rally_gitops.redact import register_secret, scrub

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_BACKOFF = 10.0


def current_commit(root: Path) -> str | None:
    """The commit being deployed: ``GIT_SHA``, else ``GITHUB_SHA`` (Actions), else git HEAD."""
    return head_sha(root)


def expand(text: str, *, where: str, root: Path) -> str:
    """Replace ``${NAME}`` by the environment variable (``${GIT_SHA}``: the current commit).

    An unset or empty variable is a configuration error naming ``where`` it is used.
    """

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name == "GIT_SHA":
            sha = current_commit(root)
            if not sha:
                raise ConfigError(
                    f"{where}: ${{GIT_SHA}} is unknown: not a git repository and neither GIT_SHA "
                    "nor GITHUB_SHA is set"
                )
            return sha
        found = os.environ.get(name, "").strip()
        if not found:
            raise ConfigError(f"{where}: ${{{name}}} is not set (export {name}=...)")
        return found

    return _VAR.sub(value, text)


def protect_url(url: str) -> None:
    """Register the secret parts of a URL (password, query string) so ``scrub`` hides them."""
    try:
        parts = urlsplit(url)
    except ValueError:
        register_secret(url)
        return
    register_secret(parts.password)
    register_secret(parts.query)
    for _key, value in parse_qsl(parts.query):
        if len(value) >= 8:  # tokens are long; short values (format=json) would scrub too much
            register_secret(value)


@dataclass(frozen=True)
class Probe:
    """One HTTP expectation. ``name`` is what we print; ``url`` is expanded and never printed."""

    name: str
    url: str
    method: str = "GET"
    expect_status: int = 200
    json_field: str | None = None
    expect: Any = None
    timeout: float = 10.0
    deadline: float = 30.0
    interval: float = 0.5
    headers: dict[str, str] = field(default_factory=dict)


class Outcome(NamedTuple):
    """The result of probing: passed or not, what was seen, how many requests it took."""

    ok: bool
    detail: str
    attempts: int


def attempt(probe: Probe) -> tuple[bool, str]:
    """Send one request; ``(True, what was seen)`` if it meets every expectation."""
    import requests

    try:
        response = requests.request(
            probe.method, probe.url, timeout=probe.timeout, headers=probe.headers
        )
    except requests.Timeout:
        return False, f"no answer within {probe.timeout:g}s"
    except requests.RequestException as exc:
        return False, f"request failed: {request_error(exc)}"
    if response.status_code != probe.expect_status:
        return False, f"HTTP {response.status_code}, expected {probe.expect_status}"
    if probe.json_field is None:
        if probe.expect is None:
            return True, f"HTTP {response.status_code}"
        body = response.text.strip()
        if body == str(probe.expect):
            return True, f"HTTP {response.status_code}, body {_short(repr(body))}"
        return False, f"body {_short(repr(body))}, expected {_short(repr(str(probe.expect)))}"
    try:
        document = response.json()
    except ValueError:
        return False, f"HTTP {response.status_code} but the body is not JSON"
    found, value = lookup(document, probe.json_field)
    if not found:
        return False, f"no field {probe.json_field!r} in the JSON response"
    shown = f"{probe.json_field} = {_short(json.dumps(value))}"
    if probe.expect is None or _equal(value, probe.expect):
        return True, shown
    return False, f"{shown}, expected {_short(json.dumps(probe.expect))}"


def poll(
    probe: Probe,
    *,
    on_retry: Callable[[str, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Probe until it passes or ``deadline`` seconds have gone by (backoff doubling to 10 s)."""
    started = clock()
    delay = max(probe.interval, 0.05)
    attempts = 0
    while True:
        attempts += 1
        ok, detail = attempt(probe)
        if ok:
            return Outcome(True, detail, attempts)
        remaining = probe.deadline - (clock() - started)
        if remaining <= 0:
            waited = f" (after {attempts} attempts in {clock() - started:.1f}s)"
            return Outcome(False, detail + (waited if attempts > 1 else ""), attempts)
        wait = min(delay, remaining)
        if on_retry is not None:
            on_retry(detail, wait)
        sleep(wait)
        delay = min(delay * 2, MAX_BACKOFF)


def lookup(document: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path (``build.commit``, ``items.0.id``) through JSON objects and arrays."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def request_error(exc: Exception) -> str:
    """A short, secret-free reason for a failed request (requests repeats the URL at length)."""
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if errno:
        return errno.group(1).strip()
    name = type(exc).__name__
    if "ConnectionError" in name:
        return "cannot connect"
    return scrub(f"{name}: {text}")[:200]


def _equal(value: Any, expected: Any) -> bool:
    # TOML gives typed values; a JSON number or boolean compares as such, else compare as text
    if isinstance(expected, str):
        return _text(value) == expected
    return type(value) is type(expected) and bool(value == expected)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _short(text: str, limit: int = 80) -> str:
    text = scrub(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."
