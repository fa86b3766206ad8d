"""The hook server's client: hand this run over to a warm server, or start one for next time.

Protocol, over a Unix stream socket in a directory only this user can enter:

- the client sends one frame, ``len(payload)`` as 4 bytes then a ``marshal`` payload (the
  server's key, the hook, argv, working directory, environment, umask and the encodings of the
  standard streams) with its file descriptors 0, 1 and 2 attached (``SCM_RIGHTS``);
- the server answers ``b"R"`` and closes when the key is not its own (a stale server: the
  client runs the hook itself), else forks the run, sends ``b"P"``, and at its end ``b"X"`` and
  the exit code, or ``b"S"`` and the signal that killed it;
- while waiting, the client forwards SIGINT, SIGTERM and SIGHUP as one byte each.

``marshal`` and the C module under ``socket`` (whose Python half builds enums: 6 ms) keep the
client's own start-up small; the peer is the same user (the server checks
``SO_PEERCRED``, the client the directory's owner and mode).
"""

from __future__ import annotations

import _socket
import marshal
import os
import signal
import stat
import sys

TYPE_CHECKING = False  # as in warm.py: no typing at run time
if TYPE_CHECKING:
    from typing import Any

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# variables that Python reads once at start-up (encodings, hash seed, warnings...): a server
# started under other values would run the hook differently, so they are part of its key
STARTUP_VARIABLES = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "PYTHONHASHSEED",
    "PYTHONWARNINGS",
    "PYTHONDEVMODE",
    "PYTHONSAFEPATH",
    "PYTHONPATH",
)


def package_key() -> str:
    """What the running code is: the interpreter, its search path and start-up variables, and
    the size and modification time of every module of both packages and of the search path's
    directories (an upgrade with pip changes site-packages). A server answers only to its key."""
    path = search_path()
    parts = [sys.executable, sys.version, *path]
    parts += [f"{name}={os.environ.get(name, '')}" for name in STARTUP_VARIABLES]
    for entry in path:
        try:
            st = os.stat(entry or ".")
        except OSError:
            continue
        parts.append(f"{entry}:{st.st_mtime_ns}")
    here = os.path.dirname(os.path.abspath(__file__))
    import rally_gitops  # its __init__ holds only the version

    for top in (here, os.path.dirname(os.path.abspath(rally_gitops.__file__))):
        _stat_tree(top, parts)
    return "\n".join(parts)


def _stat_tree(top: str, parts: list[str]) -> None:
    with os.scandir(top) as entries:
        for entry in entries:
            if entry.name.endswith(".py") or entry.name.endswith(".sql"):
                st = entry.stat()
                parts.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}")
            elif entry.is_dir() and entry.name != "__pycache__":
                _stat_tree(entry.path, parts)


def search_path() -> list[str]:
    """``sys.path`` without the entry Python puts first for a script (its directory) or ``-m``
    (the working directory): the server runs with ``-P`` and has none, and the hooks import
    nothing from there."""
    return sys.path if sys.flags.safe_path else sys.path[1:]


def socket_dir() -> str | None:
    """This user's directory for hook sockets (created 0700), or None when it is not safely
    ours (another owner, group or world access, a symlink)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    path = os.path.join(base, f"rally-gitops-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return path


def socket_path(key: str) -> str | None:
    """Where the server for ``key`` listens (None: no safe directory)."""
    import zlib

    directory = socket_dir()
    if directory is None:
        return None
    raw = key.encode("utf-8", "surrogateescape")
    return os.path.join(directory, f"hooks-{zlib.crc32(raw):08x}{len(raw) % 4096:03x}.sock")


def run(hook: str, argv: list[str]) -> int | None:
    """The hook's exit code from a warm server; None when there is none (one is then started
    for the next run) or it cannot take this one: the caller runs the hook itself."""
    if not hasattr(os, "fork") or sys.platform != "linux":
        return None
    if not all(map(os.path.isabs, search_path())):
        return None  # a relative entry (PYTHONPATH=.) means another thing in the server's "/"
    key = package_key()
    path = socket_path(key)
    if path is None:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        _start_server(path)
        return None
    try:
        return _talk(sock, _request(key, hook, argv))
    finally:
        sock.close()


def _request(key: str, hook: str, argv: list[str]) -> bytes:
    streams = [(s.encoding, s.errors) if s else ("utf-8", "strict") for s in _std()]
    umask = os.umask(0o022)
    os.umask(umask)
    payload = marshal.dumps(
        (key, hook, list(argv), os.getcwd(), dict(os.environ), umask, streams, sys.argv[0])
    )
    return len(payload).to_bytes(4, "big") + payload


def _std() -> list[Any]:
    return [sys.stdin, sys.stdout, sys.stderr]


def _talk(sock: Any, request: bytes) -> int | None:
    for stream in _std()[1:]:
        if stream is not None:
            stream.flush()  # what this process wrote comes first
    fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))  # three C ints
    try:
        sent = sock.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        sock.sendall(request[sent:])  # a stream socket may take a large environment in parts
    except OSError:
        return None  # e.g. a closed standard stream: run here
    previous = {sig: signal.signal(sig, lambda s, _f: _forward(sock, s)) for sig in FORWARDED}
    try:
        answer = _read(sock)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if answer[:1] != b"P":
        return None  # refused (stale), or the server went away before starting: run here
    if answer[1:2] == b"X":
        return int(answer[2:].strip() or 1)
    if answer[1:2] == b"S":
        return 128 + int(answer[2:].strip() or 0)
    # started, then lost: running it again here could repeat what it did
    print("error: the hook server stopped during the run; run the commit again", file=sys.stderr)
    return 1


def _forward(sock: Any, sig: int) -> None:
    try:
        sock.send(bytes([sig]))
    except OSError:
        pass


def _read(sock: Any) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(64)
        except InterruptedError:
            continue
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):  # the end of the run's report
            break
    return b"".join(chunks)


def _start_server(path: str) -> None:
    """Start the server for the next run, detached (``redact.start_detached``: no terminal, no
    stream of this run, no database URL or secret in its environment)."""
    from rally_gitops.redact import start_detached

    try:
        start_detached(["-P", "-m", "rally_gitops_hooks.server", path])
    except OSError:
        pass
