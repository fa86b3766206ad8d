"""Keep passwords out of every message and every child process.

URLs are shown redacted, known secrets are scrubbed, and child processes get an environment
without the database URLs (``child_environ``; ``start_detached`` for the background ones).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, unquote, urlsplit

_SECRETS: set[str] = set()
# the password runs to the LAST "@" of the word: an unencoded "@" or "/" in it must not leave a
# tail of the password behind ("u:***@ss9xyz@host")
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>\S*)@", re.I
)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.I)
# DATABASE_URL, DATABASE_STAGING_URL, DATABASE_PUBLIC_URL, RALLY_REPLAY_DATABASE_URL, and any
# other environment's DATABASE_<NAME>_URL
_URL_VARIABLE = re.compile(r"(\w+_)?DATABASE(_\w+)?_URL")


def register_secret(secret: str | None) -> None:
    """Remember a secret so that ``scrub`` removes it from any text (raw and URL-quoted)."""
    if secret and len(secret) >= 3:
        _SECRETS.add(secret)
        _SECRETS.add(quote(secret, safe=""))


def password_candidates(url: str) -> set[str]:
    """Everything that could be the password of ``url``, however it is read.

    libpq ends the password at the first ``@``; Python's ``urlsplit`` at the last ``@`` before a
    ``/``, ``?`` or ``#``. A URL whose password is not percent-encoded is read differently by the
    two: then every reading, and each piece between those characters, counts as secret.
    """
    ours = password_of(url)
    from rally_gitops.postgres.libpq import LibpqError, conninfo_to_dict

    try:
        theirs = conninfo_to_dict(url).get("password")
    except LibpqError:  # a URL libpq cannot parse: only the textual readings
        theirs = None
    found = {ours, None if theirs is None else str(theirs)}
    rest = url.split("://", 1)[1] if "://" in url else url
    if ours != theirs and "@" in rest:
        userinfo = rest[: rest.rfind("@")]
        password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
        found |= {password, unquote(password), *re.split(r"[@/?#]", password)}
    return {secret for secret in found if secret}


def password_of(url: str) -> str | None:
    """The password of a libpq URL, from its authority or its ``password=`` parameter."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password:
        return unquote(parts.password)
    for key, value in parse_qsl(parts.query):
        if key == "password":
            return value
    return None


def redact_url(url: str) -> str:
    """``postgresql://u:secret@h/db`` → ``postgresql://u:***@h/db`` (also ``password=`` params)."""
    for secret in password_candidates(url):
        register_secret(secret)
    return scrub(url)


def scrub(text: str) -> str:
    """Remove URL passwords, ``password=`` pairs and every registered secret from ``text``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _KV_PASSWORD.sub(lambda m: f"{m.group(1)}***", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def child_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without the database URLs and secrets.

    Every child process (git, pg_dump, psql, the embedded server, a deploy command) gets this:
    none of them needs a database URL, and a server would let SQL read its own environment
    (``pg_read_file('/proc/<pid>/environ')``). Dropped: every ``*DATABASE*_URL`` variable, any
    value that is a ``postgres://`` URL, and any value holding a registered secret.
    """
    env = dict(os.environ if base is None else base)
    return {
        name: value
        for name, value in env.items()
        if not _URL_VARIABLE.fullmatch(name)
        and not value.lstrip().lower().startswith(("postgres://", "postgresql://"))
        and not any(secret in value for secret in _SECRETS if len(secret) >= 6)
    }


def start_detached(args: list[str]) -> int:
    """Start ``python ARGS`` (this interpreter) in the background and return its pid: its own
    session (not killed with the terminal or the hook that started it), no stream of this
    process (pre-commit waits for those), ``/`` as its directory, ``child_environ()``."""
    import subprocess  # here: the history hook's fast path imports this module

    return subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
        env=child_environ(),
        start_new_session=True,
    ).pid
