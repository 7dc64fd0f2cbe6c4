"""A newly trained model directory is picked up under load: no request fails, and once the swap is done no answer
comes from the old model, computed or cached (the cache holds the old model's results for every user here)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import redis

from inference import artifacts
from inference.serving.api import create_app
from inference.serving.config import ServingConfig
from inference.serving.loading import open_service
from inference.serving.ranker import Ranker, RankInput
from inference.serving.server import serving_in_thread
from inference.testing import tiny_model_dir
from tests.integration.inference.serving.conftest import post, write_user

pytestmark = pytest.mark.integration

USERS = range(8_100_000, 8_100_040)


def test_a_new_model_is_swapped_in_under_load(redis_client: redis.Redis, tmp_path: Path) -> None:
    models = tmp_path / "models"
    old = tiny_model_dir(models / "a-old", 300, seed=0)
    histories = {user: [1 + user % 250, 2 + user % 250, 3 + user % 250] for user in USERS}
    for user, items in histories.items():
        write_user(redis_client, user, items)
    config = ServingConfig(beam=20, max_k=20, model_poll_s=0.2, runtime="torch")
    service = open_service(config, redis_client, models)
    assert service.ranker.model_id == old.name and service.follower is not None
    answers: list[tuple[float, int, str, int, list[int]]] = []  # started, status, model, user, items
    stop = threading.Event()
    with serving_in_thread(create_app(service, config, redis_client)) as url:

        def load(seed: int) -> None:
            rng = np.random.default_rng(seed)
            while not stop.is_set():
                user = int(rng.choice(USERS))
                started = time.monotonic()
                status, body = post(f"{url}/recommend", {"user_id": user, "k": 10})
                answers.append((started, status, body.get("model", ""), user, [i["item_id"] for i in body.get("items", [])]))

        threads = [threading.Thread(target=load, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(2)  # every user's old-model result computed and cached
            new = tiny_model_dir(models / "b-new", 300, seed=1)
            deadline = time.monotonic() + 60
            while service.ranker.model_id != new.name:
                assert time.monotonic() < deadline, "the new model was never swapped in"
                time.sleep(0.01)
            swapped = time.monotonic()
            time.sleep(2)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        service.close()
    assert [a for a in answers if a[1] != 200] == []
    before = [a for a in answers if a[0] < swapped - 0.5]
    after = [a for a in answers if a[0] >= swapped]
    assert {a[2] for a in before} == {old.name} and len(before) > len(USERS)
    assert len(after) > len(USERS) and {a[2] for a in after} == {new.name}
    # and they are the new model's items, not the old model's cached under a new name
    loaded = artifacts.load(new)
    reference = Ranker(loaded, None, config.beam)
    for _, _, _, user, items in after[:50]:
        assert items == reference.rank([RankInput(np.array(histories[user]))])[0].items[:10].tolist()
