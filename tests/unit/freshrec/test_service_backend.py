"""Which backend the test fixtures take (freshrec/testing/services.py): Docker only when an engine answers and has, or
can pull, both images; an engine without them falls back to the local processes, saying why."""

from __future__ import annotations

import pytest

from freshrec.testing.flink import select_flink_backend
from freshrec.testing.services import select_backend

IMAGES = ["apache/kafka:4.4.0", "redis:7.0.15"]


class _Missing(Exception):
    pass


class _Images:
    def __init__(self, present: set[str], registry: set[str]) -> None:
        self.present, self.registry = present, registry

    def get(self, image: str) -> str:
        if image not in self.present:
            raise _Missing(image)
        return image

    def get_registry_data(self, image: str) -> str:
        if image not in self.registry:
            raise _Missing(f"no registry reachable for {image}")
        return image


class _Engine:
    def __init__(self, present: set[str] = frozenset(), registry: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.images = _Images(set(present), set(registry))


def test_auto_takes_docker_only_with_both_images() -> None:
    assert select_backend("auto", lambda: _Engine(set(IMAGES)), IMAGES).name == "docker"
    assert select_backend("auto", lambda: _Engine({IMAGES[0]}, {IMAGES[1]}), IMAGES).name == "docker"  # pullable


def test_an_engine_without_the_images_falls_back_to_local_saying_why() -> None:
    backend = select_backend("auto", lambda: _Engine({IMAGES[1]}), IMAGES)
    assert backend.name == "local" and "apache/kafka:4.4.0 is neither present nor pullable" in backend.why
    assert "apache/kafka:4.4.0, redis:7.0.15 are neither" in select_backend("auto", lambda: _Engine(), IMAGES).why
    assert select_backend("auto", lambda: None, IMAGES) == select_backend("auto", lambda: None, [])
    assert "no Docker engine answers" in select_backend("auto", lambda: None, IMAGES).why


def test_forced_choices() -> None:
    assert select_backend("local", lambda: pytest.fail("local never asks Docker"), IMAGES).name == "local"
    assert select_backend("docker", lambda: _Engine(), IMAGES).name == "docker"  # forced: the pull may happen
    with pytest.raises(RuntimeError, match="no Docker engine answers"):
        select_backend("docker", lambda: None, IMAGES)
    with pytest.raises(ValueError, match="docker, local or auto"):
        select_backend("podman", lambda: None, IMAGES)


def test_flink_follows_the_services_into_containers_when_its_image_is_there() -> None:
    docker, local = select_backend("docker", lambda: _Engine(), IMAGES), select_backend("local", lambda: None, IMAGES)
    image = "flink:2.3.0-java17"
    assert select_flink_backend(local, "local", image, lambda _: True) is local
    assert select_flink_backend(docker, "docker", image, lambda _: False).name == "docker"  # forced: the pull decides
    assert select_flink_backend(docker, "auto", image, lambda _: True).name == "docker"
    fallback = select_flink_backend(docker, "auto", image, lambda _: False)
    assert fallback.name == "local" and image in fallback.why and "local processes" in fallback.why
