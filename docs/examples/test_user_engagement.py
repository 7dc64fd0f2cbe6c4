"""A data engineer's own tests with freshrec's pytest plugin (docs/testing.md): a new feature view computed from the
features freshrec streams, and the ranking API answering a user the job has just seen.

Run with `pytest -p freshrec.testing` (or plain `pytest`: installing freshrec registers the plugin)."""

import time

import pandas as pd
from feast import Field
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64


def user_engagement(user_realtime):  # the new view: built on freshrec's registered `user_realtime`
    @on_demand_feature_view(sources=[user_realtime], schema=[Field(name="buy_rate", dtype=Float64)])
    def user_engagement(features: pd.DataFrame) -> pd.DataFrame:
        seen = features["count_pv"] + features["count_cart"] + features["count_fav"] + features["count_buy"]
        return pd.DataFrame({"buy_rate": features["count_buy"] / seen.clip(lower=1)})

    return user_engagement


def clicks(user_id, behaviors, items, start_ms):
    """Click events as freshrec's `click_event` schema has them, a second apart."""
    return [{"event_id": f"u{user_id}-{i}", "user_id": user_id, "item_id": item, "category_id": 1, "behavior": behavior,
             "event_time": start_ms + 1000 * i, "session_id": None, "device": None}
            for i, (behavior, item) in enumerate(zip(behaviors, items))]


def test_buy_rate_of_streamed_clicks(freshrec_stack, freshrec_job):
    freshrec_stack.apply(user_engagement(freshrec_stack.feature_view("user_realtime")))
    start = int(time.time() * 1000) - 60_000
    run = freshrec_job.run(clicks(1, ["PV", "PV", "CART", "BUY"], [10, 11, 11, 11], start)
                           + clicks(2, ["PV"] * 5, [20, 21, 22, 23, 24], start))
    assert run.produced == 9

    features = freshrec_stack.store.get_online_features(
        features=["user_realtime:count_pv", "user_engagement:buy_rate"],
        entity_rows=[{"user_id": 1}, {"user_id": 2}, {"user_id": 3}],
    ).to_dict()
    assert features["count_pv"] == [2, 5, None]
    assert features["buy_rate"][:2] == [0.25, 0.0]


def test_the_api_ranks_for_a_user_the_job_just_saw(freshrec_stack, freshrec_job, freshrec_api):
    start = int(time.time() * 1000) - 60_000
    freshrec_job.run(clicks(7, ["PV", "PV", "BUY"], [3, 5, 8], start))

    reply = freshrec_api.recommend(7, k=5)
    assert reply.status == 200
    assert reply.body["fallback"] is False and reply.body["source"] == "generative"
    returned = [item["item_id"] for item in reply.body["items"]]
    assert len(returned) == 5 and not {3, 5, 8} & set(returned)  # what the user has seen is never recommended
