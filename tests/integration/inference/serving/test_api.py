"""The ranking API end to end on real Redis: features in, fresh results out, cache by feature version, fallbacks,
and clear 4xx for bad requests."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_INTENT
from inference.serving.api import create_app
from inference.serving.config import ServingConfig
from inference.serving.loading import open_service
from tests.integration.inference.serving.conftest import NUM_ITEMS, get, post, start_api, write_user

pytestmark = pytest.mark.integration


def test_warm_user_computed_then_cached_then_fresh_after_a_click(api: str, redis_client: redis.Redis) -> None:
    history = [5, 17, 42, 99]
    version = write_user(redis_client, 7, history)
    status, first = post(f"{api}/recommend", {"user_id": 7, "k": 10})
    assert status == 200, first
    assert (first["path"], first["source"], first["fallback"]) == ("computed", "generative", False)
    assert first["feature_version"] == version
    items = [i["item_id"] for i in first["items"]]
    scores = [i["score"] for i in first["items"]]
    assert len(items) == 10 == len(set(items)) and not set(items) & set(history)
    assert all(1 <= i <= NUM_ITEMS for i in items) and scores == sorted(scores, reverse=True)
    assert "last 4 items" in first["reason"]

    time.sleep(0.2)  # the write-back is asynchronous
    status, second = post(f"{api}/recommend", {"user_id": 7, "k": 10})
    assert (status, second["path"], second["items"]) == (200, "cached", first["items"])

    clicked = items[0]
    newer = write_user(redis_client, 7, [*history, clicked], version + 1)
    status, third = post(f"{api}/recommend", {"user_id": 7, "k": 10})
    assert (status, third["path"], third["feature_version"]) == (200, "computed", newer)
    assert clicked not in [i["item_id"] for i in third["items"]]


def test_exclude_is_applied_on_cached_and_computed_paths(api: str, redis_client: redis.Redis) -> None:
    write_user(redis_client, 8, [1, 2, 3])
    _, full = post(f"{api}/recommend", {"user_id": 8, "k": 20})
    drop = [i["item_id"] for i in full["items"][:5]]
    time.sleep(0.2)
    status, cached = post(f"{api}/recommend", {"user_id": 8, "k": 10, "exclude": drop})
    assert status == 200 and cached["path"] == "cached"
    assert [i["item_id"] for i in cached["items"]] == [i["item_id"] for i in full["items"][5:15]]
    # excluding most of the beam: fewer than k left in the cache, so the model searches again without them
    status, searched = post(f"{api}/recommend", {"user_id": 8, "k": 10, "exclude": [i["item_id"] for i in full["items"][:18]]})
    assert status == 200 and searched["path"] == "computed" and len(searched["items"]) == 10
    assert not {i["item_id"] for i in searched["items"]} & {i["item_id"] for i in full["items"][:18]}


def test_cold_users_get_the_flagged_popular_fallback(api: str, redis_client: redis.Redis) -> None:
    status, unknown = post(f"{api}/recommend", {"user_id": 123456789, "k": 5})
    assert status == 200
    assert (unknown["path"], unknown["source"], unknown["fallback"], unknown["feature_version"]) == ("cold", "popular", True, None)
    assert [i["item_id"] for i in unknown["items"]] == [300, 299, 298, 297, 296]  # popularity = item id in the tiny model
    write_user(redis_client, 9, [10**9, 10**9 + 1])  # items newer than the model
    status, new_items = post(f"{api}/recommend", {"user_id": 9, "k": 5, "exclude": [300]})
    assert status == 200 and new_items["fallback"] and [i["item_id"] for i in new_items["items"]] == [299, 298, 297, 296, 295]


def test_intent_tags_are_returned_with_the_reason(api: str, redis_client: redis.Redis) -> None:
    write_user(redis_client, 10, [4, 5])
    now = int(time.time() * 1000)
    OnlineWriter(redis_client, USER_INTENT).write([{
        "user_id": 10, "event_time": now, "tags": ["summer skincare", "gentle cleanser"], "tag_scores": [0.9, 0.7],
        "tag_categories": [3, 4],
        "grade": "A", "model_version": "m", "prompt_version": "p", "intent_date": "2026-11-22"}])  # fmt: skip
    status, body = post(f"{api}/recommend", {"user_id": 10, "exclude": [293]})
    assert status == 200 and body["intent_tags"] == ["summer skincare", "gentle cleanser"]
    assert "summer skincare" in body["reason"] and len(body["items"]) == 10
    # the intent channel: the last 2 slots, the tags' categories (3, 4) in turn, most popular unseen first (the tiny
    # model: popularity = item id, category = id mod 10), none of the generative 8 and not the excluded 293
    sources = [item["source"] for item in body["items"]]
    assert sources == ["generative"] * 8 + ["intent"] * 2
    generative = {item["item_id"] for item in body["items"][:8]}
    want = [i for i in (283, 273, 263) if i not in generative][:1] + [i for i in (294, 284, 274) if i not in generative][:1]
    assert [item["item_id"] for item in body["items"][8:]] == want


def test_bad_requests_get_clear_4xx(api: str) -> None:
    url = f"{api}/recommend"
    assert post(url, None, raw=b"{not json")[0] == 400
    for body in ({"user_id": 1, "k": 0}, {"user_id": 1, "k": 21}, {"user_id": -1}, {"k": 3}, {"user_id": "x"},
                 {"user_id": 1, "extra": 1}, {"user_id": 1, "exclude": list(range(1001))}, [1, 2],
                 {"user_id": False}, {"user_id": 1.5}, {"user_id": "1"}, {"user_id": 1, "exclude": [True]}):  # fmt: skip
        status, reply = post(url, body)
        assert status == 422, (body, status, reply)
        assert reply["detail"], body
    status, reply = post(url, None, raw=json.dumps({"user_id": 1, "exclude": list(range(20_000))}).encode())
    assert status == 413 and "bytes" in reply["detail"]
    # chunked: no Content-Length to refuse up front, so the body is counted as it arrives
    host, port = api.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    chunks = iter([b'{"user_id": 1, "exclude": [', *([b"1," * 5_000] * 10), b"1]}"])
    connection.request("POST", "/recommend", chunks, {"Content-Type": "application/json"}, encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413 and b"bytes" in response.read()


def test_health_readiness_and_metrics(api: str) -> None:
    assert get(f"{api}/healthz")[0] == 200
    status, ready = get(f"{api}/readyz")
    assert status == 200 and json.loads(ready)["model"] == "tiny"
    post(f"{api}/recommend", {"user_id": 1})
    status, text = get(f"{api}/metrics")
    assert status == 200
    for metric in ("freshrec_request_seconds_bucket", 'freshrec_results_total{path="cold"}', "freshrec_batch_size_bucket"):
        assert metric.encode() in text, metric
    status, spec = get(f"{api}/openapi.json")
    assert status == 200 and "/recommend" in json.loads(spec)["paths"]


def test_api_key_is_required_when_configured(redis_client: redis.Redis, model_dir: Path) -> None:
    """/recommend and /metrics need the key (header or Bearer); probes and the API's description stay open; a 401
    says what is missing and nothing else."""
    refused = {"detail": "missing or wrong API key (X-API-Key, or Authorization: Bearer)"}
    for url in start_api(redis_client, model_dir, api_key="s3cret"):
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            assert post(f"{url}/recommend", {"user_id": 1}, headers) == (401, refused)
            status, body = get(f"{url}/metrics", headers)
            assert (status, json.loads(body)) == (401, refused)
        for headers in ({"X-API-Key": "s3cret"}, {"Authorization": "Bearer s3cret"}):
            assert post(f"{url}/recommend", {"user_id": 1}, headers)[0] == 200
            assert get(f"{url}/metrics", headers)[0] == 200
        for open_path in ("/healthz", "/readyz", "/docs", "/openapi.json"):
            assert get(f"{url}{open_path}")[0] == 200, open_path


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "s3cret"}, {"Authorization": "Bearer s3cret"}])
def test_the_fast_path_accepts_exactly_what_the_route_accepts(redis_client: redis.Redis, model_dir: Path,
                                                              headers: dict[str, str]) -> None:  # fmt: skip
    """Every odd body answered through the full app (valid ones by the fast path) and by the FastAPI route alone:
    same status, same body. Users without features, so both answers are the same cold fallback."""
    config = ServingConfig(model_dir=model_dir, beam=20, max_k=20, api_key="s3cret")
    service = open_service(config, redis_client, model_dir.parent)
    app = create_app(service, config, redis_client)
    route_only = app.app.app  # BodyLimit -> RecommendFastPath -> FastAPI
    bodies = [b'{"user_id": 77001}', b'{"user_id": "77002"}', b'{"user_id": 77003.0}', b'{"user_id": 77004.5}',
              b'{"user_id": true}', b'{"user_id": 77005, "k": "3"}', b'{"user_id": 77006, "exclude": [1, "2"]}',
              b'{"user_id": 77007, "k": null}', b'{"user_id": 77008, "user_id": 77009}', b'{"user_id": NaN}',
              b'{"user_id": 9007199254740992}', b'{"user_id": 77010} ', b'{"user_id": 77011}x', b"", b"null",
              b'{"user_id": 77012, "exclude": {}}']  # fmt: skip
    try:
        with TestClient(app) as full, TestClient(route_only) as route:
            for body in bodies:
                for content_type in ("application/json", "application/json; charset=utf-8", "text/plain", None):
                    sent = {**headers, **({"Content-Type": content_type} if content_type else {})}
                    a, b = full.post("/recommend", content=body, headers=sent), route.post("/recommend", content=body, headers=sent)
                    assert (a.status_code, a.json()) == (b.status_code, b.json()), (body, content_type, headers)
    finally:
        service.close()
