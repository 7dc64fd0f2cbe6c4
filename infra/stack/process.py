"""A background service process that freshrec started and can find again: pid file, log file, ownership check.

`stop` only ever signals a pid that this state directory started: the pid file records the pid with its kernel start
time, so a recycled pid (same number, other start time) or someone else's server is never killed. The command line
cannot serve as the marker: redis-server rewrites its process title.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


class StackError(RuntimeError):
    """A local service cannot be started, checked or stopped; the message says what to do."""


class PortInUseError(StackError):
    pass


@dataclass
class ManagedProcess:
    name: str
    state_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of our running process, or None (a stale pid file is removed)."""
        try:
            pid, started = (int(x) for x in self.pid_file.read_text().split())
        except (FileNotFoundError, ValueError):
            self.pid_file.unlink(missing_ok=True)
            return None
        if _start_time(pid) != started or _is_zombie(pid):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def start(self, argv: Sequence[str], env: dict[str, str] | None = None) -> int:
        """Start detached (own session, survives the CLI), output appended to the log file."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.state_dir, env=env, start_new_session=True,
            )  # fmt: skip
        self.pid_file.write_text(f"{proc.pid} {_start_time(proc.pid)}")
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after `timeout`; True if a process was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `check` until true; fail early with the log tail if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise StackError(f"{self.name} exited while starting; last log lines ({self.log_file}):\n{self.log_tail()}")
            if check():
                return
            time.sleep(0.25)
        raise StackError(f"{self.name} not {what} after {timeout:.0f}s; see {self.log_file}:\n{self.log_tail()}")


def ensure_port_free(host: str, port: int, owner: str, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise PortInUseError(
                f"{owner}: port {host}:{port} is taken by a process freshrec did not start; "
                f"stop it or choose another port ({setting})"
            ) from None


_ISSUED_PORTS: set[int] = set()
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """An ephemeral port that is free right now and not handed out before by this process.

    Callers bind their ports later, so two calls in a row (a broker's and its controller's port) could
    otherwise both get the port the kernel just released.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _ISSUED_PORTS:
            _ISSUED_PORTS.add(port)
            return port


def free_port_block(count: int) -> int:
    """The first of `count` consecutive ports, all free right now and none handed out before by this process.

    Drawn below the kernel's ephemeral range: a port in it may be taken by any outgoing connection between
    this check and the moment the service binds it, and a block is more ports to lose that race.
    """
    high = int(_EPHEMERAL_RANGE.read_text().split()[0]) if _EPHEMERAL_RANGE.exists() else 32_768
    while True:
        base = random.randrange(high // 2, high - count)
        ports = range(base, base + count)
        if _ISSUED_PORTS.isdisjoint(ports) and all(_bindable(port) for port in ports):
            _ISSUED_PORTS.update(ports)
            return base


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _start_time(pid: int) -> int | None:
    """Clock ticks since boot when `pid` started (/proc/PID/stat field 22), None if there is no such process."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        try:  # our own child (started in this interpreter): reap it
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return True
    return False


def _signal(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the whole session: the service and anything it forked
    except ProcessLookupError:
        pass
