from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import load_settings, settings_environment


def test_defaults() -> None:
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.topics.clicks == "clicks"


def test_yaml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "freshrec.yaml"
    config.write_text("kafka:\n  port: 19092\n  partitions: 4\nredis:\n  port: 16379\n")
    monkeypatch.setenv("FRESHREC_CONFIG", str(config))
    monkeypatch.setenv("FRESHREC_KAFKA__PORT", "29092")
    settings = load_settings()
    assert settings.kafka.port == 29092  # environment beats the file
    assert settings.kafka.partitions == 4
    assert settings.redis.url == "redis://127.0.0.1:16379/0"


def test_unknown_keys_are_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "freshrec.yaml"
    config.write_text("kafak:\n  port: 1\n")
    monkeypatch.setenv("FRESHREC_CONFIG", str(config))
    with pytest.raises(ValueError, match="kafak"):
        load_settings()


def test_settings_environment_is_read_back_as_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = settings_environment(kafka={"host": "10.0.0.5", "port": 19093}, redis={"cluster": True},
                               topics={"clicks": "c-1"}, feature_repo=tmp_path / "repo", stream={"catch_up_ms": 5})  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert (settings.kafka.host, settings.kafka.port, settings.redis.cluster) == ("10.0.0.5", 19093, True)
    assert (settings.topics.clicks, settings.feature_repo, settings.stream.catch_up_ms) == ("c-1", tmp_path / "repo", 5)
    with pytest.raises(KeyError, match="kafka.hots"):
        settings_environment(kafka={"hots": "x"})
    with pytest.raises(KeyError, match="feature_rpo"):
        settings_environment(feature_rpo="x")
