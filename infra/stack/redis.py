"""A local Redis server (Debian's `redis-server`) with an append-only file fsynced every second: a restart keeps the
online store, and a store lost whole (the file gone too) is refilled from the offline log by the snapshot writer
(`feature_store.rebuild`). Or a local Redis Cluster of such servers, made by Redis's own `redis-cli --cluster create`."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.cluster import RedisCluster

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
    name: str = "redis"
    cluster_port: int | None = None
    """The cluster bus port of a Redis Cluster node; None for a standalone server."""

    def __post_init__(self) -> None:
        self.home = self.state_dir / self.name
        self.process = ManagedProcess(self.name, self.home)

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
        self.launch()
        self.process.wait_until(self.healthy, timeout, "answering")
        return True

    def launch(self) -> bool:
        """Start the server without waiting for it; False if it was already running."""
        if self.process.pid() is not None:
            return False
        server = ensure_redis_installed()
        s = self.settings
        ensure_port_free(s.host, s.port, "Redis", "FRESHREC_REDIS__PORT")
        if self.cluster_port is not None:
            ensure_port_free(s.host, self.cluster_port, "Redis cluster bus", "FRESHREC_REDIS__PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        self.process.start([server, str(self._write_config())])
        return True

    def _write_config(self) -> Path:
        """The server's configuration as a file readable by this user only: a password never appears among the
        process's arguments."""
        s = self.settings
        lines = [f"bind {s.host}", f"dir {self.home}", 'save ""', "appendonly yes", "appendfsync everysec",
                 f"auto-aof-rewrite-min-size {s.aof_rewrite_min_size}", f"maxmemory {s.maxmemory}", "maxmemory-policy noeviction", "daemonize no", "protected-mode yes",
                 f"unixsocket {self.socket_path}", "unixsocketperm 700"]  # fmt: skip
        if s.tls:  # TLS only: no plaintext listener
            if self.certificates is None:
                raise StackError("redis.tls is set but the local server has no certificates (freshrec up --secure)")
            c = self.certificates
            lines += ["port 0", f"tls-port {s.port}", f"tls-cert-file {c.server_cert}", f"tls-key-file {c.server_key}",
                      f"tls-ca-cert-file {c.ca}", f"tls-auth-clients {'yes' if s.tls_cert else 'optional'}"]  # fmt: skip
        else:
            lines.append(f"port {s.port}")
        if self.cluster_port is not None:
            lines += ["cluster-enabled yes", "cluster-config-file nodes.conf", f"cluster-port {self.cluster_port}",
                      f"cluster-node-timeout {s.cluster_node_timeout_ms}"]  # fmt: skip
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
        """A client of this server alone."""
        return redis.Redis(**self.settings.client_kwargs())

    def healthy(self) -> bool:
        try:
            with self.client() as client:
                if self.cluster_port is not None:  # a node serves only its slots' keys: answering is enough
                    return bool(client.ping())
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


@dataclass
class LocalRedisCluster:
    """A Redis Cluster of `cluster_masters` masters with `cluster_replicas` replicas each, on consecutive ports from
    `settings.port` (their cluster bus on the ports after those); created once by `redis-cli --cluster create`, every
    later start brings back the same cluster from each node's nodes.conf."""

    settings: RedisSettings
    state_dir: Path
    certificates: LocalCertificates | None = None

    def __post_init__(self) -> None:
        if self.settings.tls or self.settings.password is not None:
            raise StackError("the local Redis Cluster runs without TLS and AUTH (a secured cluster needs TLS on its "
                             "bus and replication too): `up --secure` and `--redis-cluster` do not go together yet")  # fmt: skip
        s, count = self.settings, self.settings.cluster_nodes
        self.nodes = [LocalRedis(s.model_copy(update={"port": s.port + i}), self.state_dir, self.certificates,
                                 name=f"redis-{i + 1}", cluster_port=s.port + count + i) for i in range(count)]  # fmt: skip
        self._created = self.state_dir / "redis-1" / ".cluster-created"

    @property
    def url(self) -> str:
        return self.settings.url

    @property
    def process(self) -> ManagedProcess:
        return self.nodes[0].process

    def start(self, timeout: float = 60.0) -> bool:
        """Start every node, create the cluster on first start, wait until every slot is served; False if all ran."""
        launched = [node.launch() for node in self.nodes]
        for node in self.nodes:
            node.process.wait_until(node.healthy, timeout, "answering")
        if not self._created.is_file():
            self._create()
            self._created.touch()
        self.nodes[0].process.wait_until(self.healthy, timeout, "serving every slot")
        return any(launched)

    def _create(self) -> None:
        s = self.settings
        command = [shutil.which("redis-cli") or "redis-cli", "--cluster", "create",
                   *(f"{s.host}:{node.settings.port}" for node in self.nodes),
                   "--cluster-replicas", str(s.cluster_replicas), "--cluster-yes"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise StackError(f"redis-cli --cluster create failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def stop(self) -> bool:
        return any([node.stop() for node in self.nodes])

    def client(self) -> RedisCluster:
        return self.settings.client()  # type: ignore[return-value]  (settings.cluster: a RedisCluster)

    def healthy(self) -> bool:
        """Every node sees the cluster whole (every slot served by a master that answers) and every replica is in
        sync with its master (before that, a master lost could not be failed over: its replica holds nothing)."""
        try:
            for node in self.nodes:
                with node.client() as client:
                    if client.cluster("info").get("cluster_state") != "ok":
                        return False
                    replication = client.info("replication")
                    if replication["role"] != "master" and replication.get("master_link_status") != "up":
                        return False
            return True
        except redis.RedisError:
            return False

    def version(self) -> str | None:
        return self.nodes[0].version()


def local_redis(settings: RedisSettings, state_dir: Path,
                certificates: LocalCertificates | None = None) -> LocalRedis | LocalRedisCluster:  # fmt: skip
    """The local server, or the local cluster when `settings.cluster`."""
    if settings.cluster:
        return LocalRedisCluster(settings, state_dir, certificates)
    return LocalRedis(settings, state_dir, certificates)
