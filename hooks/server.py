"""The hook server (``python -P -m rally_gitops_hooks.server SOCKET``), started by the client.

It imports what the three hooks need, then waits on its socket; every run is a fresh process
forked from it, which takes over the caller's standard streams, directory, environment and
arguments, runs the hook's ``main`` and exits. The server itself runs nothing of a hook: it only
forks, forwards signals (a byte from the client) and reports how each run ended. It exits
after ``RALLY_HOOK_SERVER_IDLE`` seconds (default 600) without a run, when its socket is
removed or replaced, or at once when another server holds the socket's lock or the code it
would serve is no longer the code installed (the client computes the same key).

``SOCKET.log`` gets one line per run (process, hook, exit, seconds; no argument or variable of
the run): what ``Troubleshooting`` in the README points at when a hook seems to hang. The
socket, its log and its lock file go when the server does.
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import marshal
import os
import select
import signal
import socket
import sys
import time
from typing import Any

from rally_gitops.errors import EXIT_INTERRUPTED

from .client import package_key, socket_path
from .warm import HOOKS, run_here

IDLE_VARIABLE = "RALLY_HOOK_SERVER_IDLE"
# what the hooks import when they run (beyond their modules): loaded once here
PRELOAD = (
    "argparse",
    "rally_gitops.lint.checker",
    "rally_gitops.lint.output",
    "rally_gitops.lint.history",
    "rally_gitops.commands.validate",
    "rally_gitops.replay.run",
    "psycopg",
    "git",
    "pglast.keywords",  # the first name a message shows (lint.names)
    "pwd",  # the embedded server's user
)
MAX_REQUEST = 1 << 22


class Run:
    """One hook run: the forked process and the client connection that waits for it."""

    def __init__(self, pid: int, conn: socket.socket, hook: str) -> None:
        self.pid = pid
        self.conn = conn
        self.hook = hook
        self.started = time.monotonic()
        self.pidfd = os.pidfd_open(pid)


def main(argv: list[str] | None = None) -> int:
    """Serve until idle; 0 in every case (the client never waits for this process)."""
    path = (sys.argv[1:] if argv is None else argv)[0]
    lock = os.open(path + ".lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another server serves this socket
    key = package_key()
    if socket_path(key) != path or not hasattr(os, "pidfd_open"):
        return 0  # the code changed since the client asked, or no pidfd: clients run alone
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)  # a dead server's (we hold the lock)
    listener.bind(path)
    os.chmod(path, 0o600)  # the directory is ours alone already; the peer is checked too
    listener.listen(64)
    inode = os.stat(path).st_ino
    # a kill (the tests, a user) removes the socket as an idle exit does; runs reset it
    signal.signal(signal.SIGTERM, lambda _s, _f: sys.exit(0))
    gc.freeze()  # what the imports allocated stays out of every run's collections
    log = open(path + ".log", "w", encoding="utf-8")  # noqa: SIM115 - the server's lifetime
    log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} server {os.getpid()} ready\n")
    log.flush()
    try:
        _serve(listener, key, (path, inode), log, float(os.environ.get(IDLE_VARIABLE) or 600))
    finally:
        if _ours(path, inode):  # else a newer server's: its log and lock too
            for leftover in (path, path + ".log", path + ".lock"):
                os.unlink(leftover)
    return 0


def _preload() -> None:
    for name in (*HOOKS.values(), *PRELOAD):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a run imports it itself, and reports the error
            pass
    try:
        from rally_gitops.lint import rules

        rules.load_all()
    except Exception:  # noqa: BLE001 - as above
        pass


def _serve(
    listener: socket.socket, key: str, where: tuple[str, int], log: Any, idle: float
) -> None:
    runs: dict[int, Run] = {}  # by pidfd
    waiting: dict[int, Run] = {}  # by client connection
    last = time.monotonic()
    while True:
        ready, _, _ = select.select([listener.fileno(), *runs, *waiting], [], [], min(idle, 30.0))
        if not ready and not runs:
            if time.monotonic() - last >= idle or not _ours(*where):
                return
        for fd in ready:
            if fd == listener.fileno():
                run = _accept(listener, key)
                if run is not None:
                    runs[run.pidfd] = waiting[run.conn.fileno()] = run
                last = time.monotonic()
            elif fd in runs:
                run = runs.pop(fd)
                waiting.pop(run.conn.fileno(), None)
                log.write(_finish(run))
                log.flush()
                last = time.monotonic()
            elif fd in waiting and not _relay(waiting[fd]):
                del waiting[fd]  # the client is gone: the run was told, nothing more to read


def _accept(listener: socket.socket, key: str) -> Run | None:
    conn, _ = listener.accept()
    conn.settimeout(5)
    try:
        request, fds = _receive(conn)
    except (OSError, ValueError, EOFError):
        conn.close()
        return None
    try:
        if request[0] != key or request[1] not in HOOKS:
            conn.sendall(b"R")
            conn.close()
            return None
        pid = os.fork()
        if pid == 0:  # the run: never returns
            _child(request, fds)
        conn.sendall(b"P")
        conn.setblocking(False)
        return Run(pid, conn, request[1])
    finally:
        for fd in fds:
            os.close(fd)


def _receive(conn: socket.socket) -> tuple[Any, list[int]]:
    """The client's frame and its three descriptors; the peer must be this user."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    if int.from_bytes(creds[4:8], sys.byteorder) != os.getuid():
        raise ValueError("another user")
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    if len(fds) != 3 or len(data) < 4:
        for fd in fds:
            os.close(fd)
        raise ValueError("no descriptors")
    size = int.from_bytes(data[:4], "big")
    if size > MAX_REQUEST:
        raise ValueError("too big")
    body = bytearray(data[4:])
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise EOFError
        body += chunk
    return marshal.loads(bytes(body)), fds


def _relay(run: Run) -> bool:
    """Signals from the client (one byte each) go to the run; a client gone (killed: False) is
    a Ctrl-C, so that the run cleans up as it would at a terminal."""
    try:
        data = run.conn.recv(64)
    except BlockingIOError:
        return True
    except OSError:
        data = b""
    for sig in data or bytes([signal.SIGINT]):
        try:
            os.kill(run.pid, sig)
        except OSError:
            pass
    return bool(data)


def _finish(run: Run) -> str:
    """Report the end of a run to its client; its log line."""
    _, status = os.waitpid(run.pid, 0)
    os.close(run.pidfd)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    message = f"S{sig}\n" if sig else f"X{os.waitstatus_to_exitcode(status)}\n"
    try:
        run.conn.setblocking(True)
        run.conn.sendall(message.encode())
    except OSError:
        pass
    run.conn.close()
    seconds = time.monotonic() - run.started
    return f"run {run.pid} {run.hook} {message.strip()} {seconds:.3f}s\n"


def _child(request: Any, fds: list[int]) -> None:
    """The forked run: the client's streams, directory, environment and arguments, then the
    hook; the process ends here."""
    code = 1
    try:
        _key, hook, argv, cwd, env, umask, streams, argv0 = request
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 1 << 16)  # the listener, the lock, other runs' connections
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        time.tzset()
        os.umask(umask)
        _streams(streams)
        sys.argv = [argv0, *argv]
        code = _run(hook, argv)
    except BaseException:  # noqa: BLE001 - a bare exit, as a crashed hook would have
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - a closed pipe: nothing to save
                pass
        os._exit(code)


def _run(hook: str, argv: list[str]) -> int:
    try:
        return run_here(hook, argv)
    except SystemExit as exc:  # argparse's usage errors, --help
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _streams(streams: list[tuple[str, str]]) -> None:
    """New ``sys.std*`` on descriptors 0-2 with the client's encodings: stdout line-buffered on
    a terminal, stderr always (as Python does)."""
    (in_enc, in_err), (out_enc, out_err), (err_enc, err_err) = streams
    sys.stdin = open(0, encoding=in_enc, errors=in_err, closefd=False)  # noqa: SIM115
    sys.stdout = open(  # noqa: SIM115
        1, "w", encoding=out_enc, errors=out_err, closefd=False, buffering=1 if os.isatty(1) else -1
    )
    sys.stderr = open(2, "w", encoding=err_enc, errors=err_err, closefd=False, buffering=1)  # noqa: SIM115


def _ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
