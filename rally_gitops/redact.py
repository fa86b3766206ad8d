"""Keep passwords out of every message: URLs are shown redacted, known secrets are scrubbed."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

_SECRETS: set[str] = set()
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@", re.I
)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.I)


def register_secret(secret: str | None) -> None:
    """Remember a secret so that ``scrub`` removes it from any text (raw and URL-quoted)."""
    if secret and len(secret) >= 3:
        _SECRETS.add(secret)
        _SECRETS.add(quote(secret, safe=""))


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
    register_secret(password_of(url))
    return scrub(url)


def scrub(text: str) -> str:
    """Remove URL passwords, ``password=`` pairs and every registered secret from ``text``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _KV_PASSWORD.sub(lambda m: f"{m.group(1)}***", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
