"""A small GitHub REST client: token, API version, bounded retries, pagination, clear errors.

The token comes from ``GITHUB_TOKEN`` (or ``GH_TOKEN``) and is registered as a secret, so no
message can show it; it is sent only to the API host (a pagination link elsewhere is refused).
``requests`` is imported lazily: most commands never talk to GitHub.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rally_gitops import __version__
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.redact import child_environ, register_secret

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
# Tests replace this to record the waits instead of sleeping.
sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Reply:
    """One answer of the API: status, headers (case-insensitive) and the decoded JSON body."""

    status: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)
    next_url: str | None = None


class GitHub:
    """Authenticated calls to the GitHub REST API (``api_url`` for GitHub Enterprise)."""

    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 30.0,
        attempts: int = 5,
        max_wait: float = 120.0,
    ) -> None:
        register_secret(token)
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.max_wait = max_wait
        self._host = urlsplit(self.api_url).netloc
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"rally-gitops/{__version__}",
        }
        self._session: Any = None

    @classmethod
    def from_env(cls) -> GitHub:
        """The client configured by ``GITHUB_TOKEN`` and ``GITHUB_API_URL`` (set by Actions)."""
        token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
        if not token:
            raise ConfigError(
                "GITHUB_TOKEN is not set: export a token that can access the repository "
                "(in GitHub Actions: env GITHUB_TOKEN: ${{ github.token }})"
            )
        return cls(token.strip(), os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL)

    def request(self, method: str, path: str, *, json: Any = None, ok_404: bool = False) -> Reply:
        """Send one request (retried on 5xx and rate limits); a 404 is returned if ``ok_404``."""
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        if urlsplit(url).netloc != self._host:
            raise RallyError(f"refusing to send the GitHub token to {urlsplit(url).netloc}")
        for attempt in range(1, self.attempts + 1):
            resp = self._send(method, url, json)
            wait = self._retry_after(resp, attempt)
            if wait is None:
                break
            sleep(wait)
        if resp.status_code == 404 and ok_404:
            return Reply(404, None, dict(resp.headers))
        if resp.status_code >= 400:
            raise RallyError(_explain(method, urlsplit(url).path, resp))
        data = _json(resp)
        if resp.content and data is None:
            raise RallyError(f"GitHub answered {method} {urlsplit(url).path} with no JSON")
        return Reply(
            resp.status_code, data, dict(resp.headers), resp.links.get("next", {}).get("url")
        )

    def get(self, path: str, *, ok_404: bool = False) -> Reply:
        """``GET path``."""
        return self.request("GET", path, ok_404=ok_404)

    def paginate(self, path: str, key: str | None = None, *, ok_404: bool = False) -> Iterator[Any]:
        """Every item of a list endpoint, following the ``Link: rel="next"`` header.

        ``key`` names the list inside an object answer (``branch_policies``), if it is not a list;
        with ``ok_404`` a missing list is empty.
        """
        url: str | None = path + ("&" if "?" in path else "?") + "per_page=100"
        while url:
            reply = self.get(url, ok_404=ok_404)
            if reply.status == 404:
                return
            yield from (reply.data[key] if key else reply.data) or []
            url = reply.next_url

    def _send(self, method: str, url: str, json: Any) -> Any:
        import requests

        if self._session is None:
            self._session = requests.Session()
        try:
            return self._session.request(
                method, url, json=json, headers=self._headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise RallyError(
                f"cannot reach the GitHub API at {self.api_url} ({type(exc).__name__}); "
                "check the network or GITHUB_API_URL"
            ) from None

    def _retry_after(self, resp: Any, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the answer is final."""
        if attempt >= self.attempts:
            return None
        status, headers = resp.status_code, resp.headers
        if status >= 500:
            return min(2.0 ** (attempt - 1), self.max_wait)
        if status not in (403, 429):
            return None
        if headers.get("Retry-After", "").strip().isdigit():
            wait = float(headers["Retry-After"])
        elif headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
            wait = max(float(headers["x-ratelimit-reset"]) - time.time(), 0) + 1
        elif status == 429 or "secondary rate limit" in resp.text.lower():
            wait = 60.0  # GitHub's advice when a secondary limit names no time
        else:
            return None
        return wait if wait <= self.max_wait else None


def _explain(method: str, path: str, resp: Any) -> str:
    """One sentence for a failed call, naming what the user can do about it."""
    body = _json(resp)
    body = body if isinstance(body, dict) else {}
    message = str(body.get("message", "")).strip()
    said = f" ({message})" if message else ""
    where = f"{method} {path}"
    status, headers = resp.status_code, resp.headers
    if status == 401:
        return (
            f"GitHub rejected the token (401{said}): set GITHUB_TOKEN to a valid, unexpired token"
        )
    if status in (403, 429) and (
        headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message.lower()
    ):
        reset = headers.get("x-ratelimit-reset", "")
        when = (
            time.strftime(" (resets at %H:%M UTC)", time.gmtime(int(reset)))
            if reset.isdigit()
            else ""
        )
        return f"GitHub API rate limit exceeded for {where}{when}; retry later"
    if status == 403:
        return (
            f"GitHub refused {where} (403{said}): the token lacks the permission; managing "
            "environments needs admin rights on the repository (classic token: repo scope; "
            "fine-grained: Administration write), comments and deployments need write access"
        )
    if status == 404:
        return (
            f"GitHub answered 404 for {where}: the repository, environment, user or team does "
            "not exist, or the token has no access to it"
        )
    if status == 422:
        errors = body.get("errors")
        return f"GitHub rejected {where} (422{said}){': ' + str(errors) if errors else ''}"
    if status >= 500:
        return f"GitHub answered {status} for {where}{said} after retries; try again later"
    return f"GitHub answered {status} for {where}{said}"


def _json(resp: Any) -> Any:
    """The decoded JSON body, or None when there is none or it is not JSON (a proxy's page)."""
    try:
        return resp.json() if resp.content else None
    except ValueError:
        return None


def split_repo(repo: str) -> tuple[str, str]:
    """``OWNER/NAME`` → ``(owner, name)``; a usage error otherwise."""
    if not _REPO.match(repo):
        raise ConfigError(f"--repo {repo!r}: expected OWNER/NAME")
    owner, name = repo.split("/")
    return owner, name


def default_repo(root: Path) -> str:
    """``GITHUB_REPOSITORY`` (set by Actions), else the ``origin`` remote of the git checkout."""
    if os.environ.get("GITHUB_REPOSITORY"):
        return os.environ["GITHUB_REPOSITORY"]
    try:
        url = subprocess.run(
            ("git", "config", "--get", "remote.origin.url"),
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            env=child_environ(),
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        url = ""
    repo = repo_from_remote(url)
    if repo is None:
        raise ConfigError(
            "no repository given: pass --repo OWNER/NAME or set GITHUB_REPOSITORY "
            "(no GitHub 'origin' remote found)"
        )
    return repo


def repo_from_remote(url: str) -> str | None:
    """``git@github.com:o/r.git``, ``https://[user@]host/o/r(.git)``, ``ssh://...`` → ``o/r``."""
    match = re.search(r"[:/]([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$", url.strip())
    return f"{match[1]}/{match[2]}" if match and url.strip() else None
