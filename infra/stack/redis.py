"""A local Redis server (Debian's `redis-server`) with an append-only file fsynced every second: a restart keeps the
online store, and a store lost whole (the file gone too) is refilled from the offline log by the snapshot writer
(`feature_store.rebuild`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis

from infra.config import RedisSettings
from infra.stack.certs import LocalCertificates
from infra.stack.process import ManagedProcess, StackError, ensure_port_free


@dataclass
class LocalRedis:
    settings: RedisSettings
    state_dir: Path
    certificates: LocalCertificates | None = None
    """The server's TLS certificate and the CA of client certificates: required with `settings.tls` (the local
    stack's own, `freshrec up --secure`)."""

    def __post_init__(self) -> None:
        self.home = self.state_dir / "redis"
        self.process = ManagedProcess("redis", self.home)

    @property
    def url(self) -> str:
        return self.settings.url

    @property
    def socket_path(self) -> Path:
        """Also served on a Unix socket: co-located clients skip the TCP stack (about half the round trip here)."""
        return self.home / "redis.sock"

    def start(self, timeout: float = 30.0) -> bool:
        """Start and wait until a client can write and read; False if it was already running."""
        if self.process.pid() is not None:
            self.process.wait_until(self.healthy, timeout, "answering")
            return False
        server = ensure_redis_installed()
        s = self.settings
        ensure_port_free(s.host, s.port, "Redis", "FRESHREC_REDIS__PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        self.process.start([server, str(self._write_config())])
        self.process.wait_until(self.healthy, timeout, "answering")
        return True

    def _write_config(self) -> Path:
        """The server's configuration as a file readable by this user only: a password never appears among the
        process's arguments."""
        s = self.settings
        lines = [f"bind {s.host}", f"dir {self.home}", 'save ""', "appendonly yes", "appendfsync everysec",
                 f"maxmemory {s.maxmemory}", "maxmemory-policy noeviction", "daemonize no", "protected-mode yes",
                 f"unixsocket {self.socket_path}", "unixsocketperm 700"]  # fmt: skip
        if s.tls:  # TLS only: no plaintext listener
            if self.certificates is None:
                raise StackError("redis.tls is set but the local server has no certificates (freshrec up --secure)")
            c = self.certificates
            lines += ["port 0", f"tls-port {s.port}", f"tls-cert-file {c.server_cert}", f"tls-key-file {c.server_key}",
                      f"tls-ca-cert-file {c.ca}", f"tls-auth-clients {'yes' if s.tls_cert else 'optional'}"]  # fmt: skip
        else:
            lines.append(f"port {s.port}")
        if s.password is not None:  # ACL: the default user off, freshrec's user with its password
            user = s.username or "default"
            if user != "default":
                lines.append("user default off")
            lines.append(f"user {user} on >{s.password.get_secret_value()} ~* &* +@all")
        config = self.home / "redis.conf"
        config.touch(mode=0o600)
        config.write_text("\n".join(lines) + "\n")
        return config

    def stop(self) -> bool:
        return self.process.stop()

    def client(self) -> redis.Redis:
        return self.settings.client()

    def healthy(self) -> bool:
        try:
            with self.client() as client:
                client.set("__freshrec_health", b"ok")
                return client.get("__freshrec_health") == b"ok"
        except redis.RedisError:
            return False

    def version(self) -> str | None:
        try:
            with self.client() as client:
                return str(client.info("server")["redis_version"])
        except redis.RedisError:
            return None


def ensure_redis_installed() -> str:
    """Path of `redis-server`, installing Debian's package when missing and allowed (root with apt-get)."""
    server = shutil.which("redis-server")
    if server:
        return server
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
        server = shutil.which("redis-server")
        if server:
            return server
    raise StackError("redis-server is not installed and could not be installed: `apt-get install redis-server`")
