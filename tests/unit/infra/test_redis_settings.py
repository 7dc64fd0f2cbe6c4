"""Redis settings mapped once to redis-py's arguments and to Feast's connection string: ACL user, TLS, mutual TLS."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.config import RedisSettings


def test_plain_local_server() -> None:
    plain = RedisSettings()
    assert plain.feast_connection() == "127.0.0.1:6379" and plain.url == "redis://127.0.0.1:6379/0"
    assert "password" not in plain.client_kwargs() and "ssl" not in plain.client_kwargs()


def test_acl_user_over_mutual_tls() -> None:
    secure = RedisSettings(host="r", port=6380, username="freshrec", password="pw", tls=True, tls_ca=Path("/c/ca.pem"),
                           tls_cert=Path("/c/client.pem"), tls_key=Path("/c/client.key"))  # fmt: skip
    kwargs = secure.client_kwargs()
    assert (kwargs["username"], kwargs["password"], kwargs["ssl"], kwargs["ssl_check_hostname"]) == ("freshrec", "pw", True, True)
    assert (kwargs["ssl_ca_certs"], kwargs["ssl_certfile"], kwargs["ssl_keyfile"]) == ("/c/ca.pem", "/c/client.pem", "/c/client.key")
    assert secure.feast_connection() == ("r:6380,username=freshrec,password=pw,ssl=true,ssl_check_hostname=true,"
                                         "ssl_ca_certs=/c/ca.pem,ssl_certfile=/c/client.pem,ssl_keyfile=/c/client.key")  # fmt: skip
    assert secure.url == "rediss://r:6380/0" and "pw" not in repr(secure)


@pytest.mark.parametrize("fields", [{"tls_ca": "ca.pem"}, {"tls": True, "tls_key": "k.pem"}, {"username": "u"}])
def test_incomplete_security_is_refused_at_load(fields: dict) -> None:
    with pytest.raises(ValidationError):
        RedisSettings(**fields)


def test_a_comma_cannot_hide_in_feasts_connection_string() -> None:
    with pytest.raises(ValueError, match="comma"):
        RedisSettings(password="a,b").feast_connection()


def test_a_cluster_node_gives_a_cluster_client_and_the_local_clusters_shape(tmp_path: Path) -> None:
    from redis import Redis

    from infra.stack.process import StackError
    from infra.stack.redis import LocalRedis, LocalRedisCluster, local_redis

    assert type(RedisSettings().client()) is Redis and RedisSettings().cluster_nodes == 1
    clustered = RedisSettings(port=7000, cluster=True, cluster_masters=4, cluster_replicas=2)
    assert clustered.cluster_nodes == 12
    local = local_redis(clustered, tmp_path)
    assert isinstance(local, LocalRedisCluster) and isinstance(local_redis(RedisSettings(), tmp_path), LocalRedis)
    assert [(n.settings.port, n.cluster_port, n.process.name) for n in local.nodes][::11] == [
        (7000, 7012, "redis-1"), (7011, 7023, "redis-12")]  # fmt: skip
    with pytest.raises(StackError, match="--redis-cluster"):
        LocalRedisCluster(RedisSettings(cluster=True, password="pw"), tmp_path)
    with pytest.raises(ValidationError):
        RedisSettings(cluster=True, cluster_masters=2)


def test_the_local_server_runs_with_the_configured_rewrite_threshold(tmp_path: Path) -> None:
    """The append-only file's rewrite threshold reaches the server (its default, 64mb, forked it every few seconds
    under a stream of whole-row writes: docs/benchmarks.md)."""
    from infra.stack.process import free_port
    from infra.stack.redis import LocalRedis

    server = LocalRedis(RedisSettings(port=free_port(), aof_rewrite_min_size="256mb"), tmp_path)
    server.start()
    try:
        client = server.client()
        assert client.config_get("auto-aof-rewrite-min-size") == {"auto-aof-rewrite-min-size": str(256 * 2**20)}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert RedisSettings().aof_rewrite_min_size == "1gb"
    finally:
        server.stop()
