"""What the API serves is what the offline evaluation scores: for 100 users, the served top-10 equals the
evaluation's top-10 for the same histories, through a model whose items are renumbered (raw ids in, raw ids out)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import redis

from inference import artifacts
from inference.evaluation import top_k
from inference.testing import tiny_model_dir
from tests.integration.inference.serving.conftest import post, start_api, write_user

pytestmark = pytest.mark.integration

USERS = range(8_200_000, 8_200_100)


def test_served_top_k_equals_the_offline_evaluation(redis_client: redis.Redis, tmp_path: Path) -> None:
    raw = 5_000_000 + 11 * np.random.default_rng(1).permutation(300)  # model item i is raw id raw[i - 1]
    directory = tiny_model_dir(tmp_path / "renumbered", 300, raw_ids=raw)
    loaded = artifacts.load(directory)
    rng = np.random.default_rng(2)
    histories = {user: raw[rng.choice(300, size=int(rng.integers(1, 16)), replace=False)] for user in USERS}
    for user, history in histories.items():
        write_user(redis_client, user, history.tolist())
    beam = 20
    served = {}
    for url in start_api(redis_client, directory, runtime="torch"):  # beam 20
        for user in USERS:
            status, body = post(f"{url}/recommend", {"user_id": user, "k": 10})
            assert status == 200 and body["source"] == "generative", body
            served[user] = [item["item_id"] for item in body["items"]]
    # the evaluation: model indices, histories cut to the model's length, everything seen masked, top-10 of beam 20
    retriever = loaded.retriever(beam)
    indices = [loaded.items.to_index(histories[user]) for user in USERS]
    offline = top_k(retriever.recommend, indices, loaded.num_items, loaded.model.config.max_length)
    assert [served[user] for user in USERS] == [loaded.items.to_raw(row).tolist() for row in offline]
