"""Open and apply the Feast repository with freshrec's Redis address, without editing feature_store.yaml."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing feast costs seconds: only the functions that need it pay
    from feast import FeatureStore

REPO_DIR = Path(__file__).parent / "repo"
PROJECT = "freshrec"


def open_store(repo_dir: Path = REPO_DIR, redis_connection: str | None = None, redis_cluster: bool = False) -> FeatureStore:
    """A FeatureStore on `repo_dir`, its online store pointed at `redis_connection` ("host:port") when given, a node
    of a Redis Cluster when `redis_cluster` (Feast's `redis_type: redis_cluster`)."""
    from feast import FeatureStore
    from feast.infra.online_stores.redis import RedisType
    from feast.repo_config import load_repo_config

    config = load_repo_config(repo_dir, repo_dir / "feature_store.yaml")
    if redis_connection:
        config.online_store.connection_string = redis_connection
    if redis_cluster:
        config.online_store.redis_type = RedisType.redis_cluster
    return FeatureStore(repo_path=str(repo_dir), config=config)


def apply(store: FeatureStore) -> list[str]:
    """Register every object of `definitions.py` (what `feast apply` does) and create the offline folders."""
    definitions = _load_definitions(Path(store.repo_path))
    objects = [
        definitions.user, definitions.item, definitions.user_realtime_push,
        definitions.user_realtime, definitions.user_intent, definitions.item_features,
    ]  # fmt: skip
    for view in ("user_realtime", "user_intent", "item"):
        (Path(store.repo_path) / "data" / "offline" / view).mkdir(parents=True, exist_ok=True)
    store.apply(objects)
    return [o.name for o in objects]


def copy_repo(target: Path) -> Path:
    """A private copy of the repository definitions (own registry and offline data), e.g. for tests."""
    shutil.copytree(REPO_DIR, target, ignore=shutil.ignore_patterns("data", "__pycache__"))
    return target


def _load_definitions(repo_dir: Path):  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("freshrec_feast_definitions", repo_dir / "definitions.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module
