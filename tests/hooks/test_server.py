"""The hook server: the console scripts hand their run to a warm process and get the same result.

Every case runs the installed console scripts as real processes, with ``XDG_RUNTIME_DIR`` in the
test's directory so that each test has its own server (started by its first run, stopped at the
end), and reads the server's log to know which runs it served.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.lint_support import good, project, write
from testing.process import interruptible

BIN = Path(sys.executable).parent
BAD_INDEX = good(body="CREATE INDEX i ON users (email);")


class Hooks:
    """Runs the hooks with a private socket directory; ``served()`` lists the server's runs."""

    def __init__(self, runtime: Path) -> None:
        self.runtime = runtime
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("RALLY_", "DATABASE_"))
        }
        self.env.update(XDG_RUNTIME_DIR=str(runtime), RALLY_HOOK_SERVER_IDLE="60")

    @property
    def directory(self) -> Path:
        return self.runtime / f"rally-gitops-{os.getuid()}"

    def run(self, hook: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / f"rally-migration-{hook}"), *args],
            cwd=cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def log(self) -> list[str]:
        return [
            line
            for path in self.directory.glob("*.log")
            for line in path.read_text(encoding="utf-8").splitlines()
        ]

    def served(self) -> list[str]:
        """``hook X<code>`` of every run the server finished."""
        return [" ".join(line.split()[2:4]) for line in self.log() if line.startswith("run ")]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while not any("ready" in line for line in self.log()):
            assert time.monotonic() < deadline, "the hook server did not start"
            time.sleep(0.05)

    def servers(self) -> list[int]:
        return [int(line.split()[2]) for line in self.log() if line.endswith(" ready")]

    def stop(self) -> None:
        for pid in self.servers():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[Hooks]:
    runtime = tmp_path / "run"
    runtime.mkdir()
    started = Hooks(runtime)
    yield started
    started.stop()


def warm(hooks: Hooks, root: Path, name: str) -> None:
    """A first run (which starts the server), then wait for the server."""
    assert hooks.run("lint", name, cwd=root).returncode in (0, 1)
    hooks.wait_ready()


def test_served_run_prints_and_exits_as_a_run_in_process(hooks: Hooks, tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    name = str(write(root, BAD_INDEX).relative_to(root))
    alone = hooks.run("lint", name, cwd=root, RALLY_HOOK_SERVER="0")
    assert hooks.log() == []  # turned off: no server
    assert alone.returncode == 1
    assert alone.stdout.startswith(f"{name}:4:1: error require-concurrent-index ")
    warm(hooks, root, name)
    for args in ([name], ["--format", "json", name], ["--format", "bogus", name]):
        served = hooks.run("lint", *args, cwd=root)
        here = hooks.run("lint", *args, cwd=root, RALLY_HOOK_SERVER="0")
        assert (served.returncode, served.stdout, served.stderr) == (
            here.returncode,
            here.stdout,
            here.stderr,
        )
    assert hooks.served() == ["lint X1", "lint X1", "lint X2"]


def test_each_run_has_its_own_directory_configuration_and_environment(
    hooks: Hooks, tmp_path: Path
) -> None:
    strict = project(tmp_path / "strict")
    relaxed = project(tmp_path / "relaxed", 'disable = ["require-concurrent-index"]')
    for root in (strict, relaxed):
        write(root, BAD_INDEX)
    name = str(Path("migrations") / next((strict / "migrations").iterdir()).name)
    warm(hooks, strict, name)
    assert hooks.run("lint", name, cwd=relaxed).returncode == 0
    assert hooks.run("lint", name, cwd=strict).returncode == 1
    # the run sees the variables of its caller: an unreachable replay server, named with a
    # password that must appear nowhere
    url = "postgresql://rally:hunter2-secret@127.0.0.1:9/replay"
    result = hooks.run("validate", name, cwd=strict, RALLY_REPLAY_DATABASE_URL=url)
    assert hooks.served() == ["lint X0", "lint X1", "validate X1"]
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to postgresql://rally:***@127.0.0.1:9/")
    assert "hunter2" not in result.stdout + result.stderr
    # ...and the server was started without it: not in its environment, nor its arguments
    (pid,) = hooks.servers()
    for part in ("environ", "cmdline"):
        assert b"hunter2" not in Path(f"/proc/{pid}/{part}").read_bytes()


def test_changed_code_is_never_served_by_the_old_server(hooks: Hooks, tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    name = str(write(root, good()).relative_to(root))
    warm(hooks, root, name)
    assert hooks.run("lint", name, cwd=root).returncode == 0
    assert hooks.served() == ["lint X0"]
    # a module edited after the server imported it: a new key, a new socket, run here
    module = Path(__import__("rally_gitops.lint.output").lint.output.__file__)
    before = module.stat()
    try:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        assert hooks.run("lint", name, cwd=root).returncode == 0
        assert hooks.served() == ["lint X0"]
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    deadline = time.monotonic() + 30  # the next one was started (in the background)
    while len(list(hooks.directory.glob("*.sock.lock"))) != 2:
        assert time.monotonic() < deadline, "no server was started for the new code"
        time.sleep(0.05)


def test_ctrl_c_reaches_the_run(hooks: Hooks, tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    name = str(write(root, good()).relative_to(root))
    warm(hooks, root, name)
    # a replay server that accepts and never answers: the run waits until interrupted
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    url = f"postgresql://rally@127.0.0.1:{silent.getsockname()[1]}/replay?connect_timeout=60"
    proc = subprocess.Popen(
        [str(BIN / "rally-migration-validate"), name],
        cwd=root,
        env={**hooks.env, "RALLY_REPLAY_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 30
    while not held:
        assert time.monotonic() < deadline, "the run never connected"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    silent.close()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "error: interrupted"
    assert "Traceback" not in err
    assert hooks.served() == ["validate X130"]


def test_idle_server_stops_and_removes_its_socket(hooks: Hooks, tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    name = str(write(root, good()).relative_to(root))
    hooks.env["RALLY_HOOK_SERVER_IDLE"] = "1"
    warm(hooks, root, name)
    (pid,) = hooks.servers()
    deadline = time.monotonic() + 30
    while list(hooks.directory.iterdir()):  # the socket, its log and its lock
        assert time.monotonic() < deadline, "the idle server did not stop"
        time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        for _ in range(100):  # it may still be removing its socket
            os.kill(pid, 0)
            time.sleep(0.05)


def test_a_stopped_server_leaves_nothing_behind(hooks: Hooks, tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    name = str(write(root, good()).relative_to(root))
    warm(hooks, root, name)
    assert sorted(p.suffix for p in hooks.directory.iterdir()) == [".lock", ".log", ".sock"]
    hooks.stop()
    deadline = time.monotonic() + 30
    while list(hooks.directory.iterdir()):
        assert time.monotonic() < deadline, "the stopped server left its files"
        time.sleep(0.05)
    assert hooks.run("lint", name, cwd=root).returncode == 0  # runs here, starts another
    hooks.wait_ready()


def test_a_directory_others_can_enter_is_not_used(hooks: Hooks, tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    name = str(write(root, BAD_INDEX).relative_to(root))
    hooks.directory.mkdir(mode=0o755)
    hooks.directory.chmod(0o755)
    for _ in range(2):
        result = hooks.run("lint", name, cwd=root)
        assert result.returncode == 1
        assert result.stdout.splitlines()[-1] == "1 file, 1 error, 0 warnings"
    time.sleep(0.5)
    assert list(hooks.directory.iterdir()) == []  # no socket, no server


def test_a_relative_search_path_runs_without_a_server(hooks: Hooks, tmp_path: Path) -> None:
    # the server runs in "/": PYTHONPATH=. would import something else there
    root = project(tmp_path / "proj")
    name = str(write(root, BAD_INDEX).relative_to(root))
    for _ in range(2):
        result = hooks.run("lint", name, cwd=root, PYTHONPATH=".")
        assert (result.returncode, result.stdout.splitlines()[-1]) == (
            1,
            "1 file, 1 error, 0 warnings",
        )
    time.sleep(0.5)
    assert hooks.log() == []


def test_an_environment_larger_than_the_socket_buffer_is_served(
    hooks: Hooks, tmp_path: Path
) -> None:
    root = project(tmp_path / "proj")
    name = str(write(root, BAD_INDEX).relative_to(root))
    warm(hooks, root, name)
    big = {f"RALLY_TEST_FILLER_{n}": "x" * 100_000 for n in range(4)}  # 400 kB: read in many parts
    result = hooks.run("lint", name, cwd=root, **big)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "1 file, 1 error, 0 warnings"
    assert hooks.served() == ["lint X1"]
