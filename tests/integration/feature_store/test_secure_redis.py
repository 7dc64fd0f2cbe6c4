"""The online store behind TLS and an ACL user, as secured deployments run it: the batch writer, both readers and
Feast read and write the same rows; a plaintext client, a wrong password and no password are refused; the password
appears in no process's arguments or environment, nor in what the settings print."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from feature_store.online.async_reader import AsyncOnlineReader
from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.store import apply, copy_repo, open_store
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_REALTIME
from infra.config import RedisSettings
from tests.fixtures.processes import arguments_and_environments
from tests.fixtures.secure import REDIS_PASSWORD

pytestmark = pytest.mark.integration
PASSWORD = REDIS_PASSWORD
NOW = int(time.time() * 1000)


@pytest.fixture
def secure(secure_redis: RedisSettings) -> RedisSettings:
    """The secured stack's Redis (tests/fixtures/secure.py: the server `up --secure` runs), emptied for the test."""
    return secure_redis


def test_writer_readers_and_feast_agree_over_tls_with_an_acl_user(secure: RedisSettings, tmp_path: Path) -> None:
    client = secure.client()
    rows = [sample_realtime_row(u, NOW - 1000, version=NOW, n=5, seed=u) for u in range(1, 21)]
    assert OnlineWriter(client, USER_REALTIME).write(rows).applied == 20
    reader = OnlineReader(client, [USER_REALTIME])
    synced = reader.read_many(list(range(1, 21)))
    assert [v["user_realtime"].values["item_ids"].tolist() for v in synced] == [r["item_ids"] for r in rows]

    async def read_async() -> list:
        async_reader = AsyncOnlineReader(reader)
        try:
            return [await async_reader.read_with(u, b"none") for u in range(1, 21)]
        finally:
            async_reader.close()

    through_loop = asyncio.run(read_async())
    assert [f["user_realtime"].values["item_ids"].tolist() for f, _ in through_loop] == [r["item_ids"] for r in rows]

    store = open_store(copy_repo(tmp_path / "repo"), secure.feast_connection())
    apply(store)
    read = store.get_online_features(features=["user_realtime:item_ids", "user_realtime:summary"],
                                     entity_rows=[{"user_id": u} for u in range(1, 21)]).to_dict()  # fmt: skip
    assert read["item_ids"] == [r["item_ids"] for r in rows] and read["summary"] == [r["summary"] for r in rows]


def test_plaintext_wrong_and_missing_passwords_are_refused(secure: RedisSettings) -> None:
    with pytest.raises(redis.ConnectionError):  # no plaintext listener: the TLS port resets a plain client
        redis.Redis(port=secure.port, socket_timeout=5).ping()
    with pytest.raises(redis.AuthenticationError):
        secure.model_copy(update={"password": SecretStr("wrong")}).client().ping()
    with pytest.raises(redis.AuthenticationError):  # the default user is off
        secure.model_copy(update={"username": None, "password": None}).client().ping()


def test_the_password_is_never_shown(secure: RedisSettings) -> None:
    """In no process's arguments or environment (the server reads it from a file of its own, mode 600)."""
    shown = arguments_and_environments()
    assert shown and PASSWORD.encode() not in shown
    assert PASSWORD not in repr(secure) and PASSWORD not in secure.model_dump_json() and PASSWORD not in secure.url
