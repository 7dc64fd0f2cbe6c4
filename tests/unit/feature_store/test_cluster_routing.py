"""Slot arithmetic of the cluster routing: tags that put any key, Feast's binary ones included, in a chosen slot."""

from __future__ import annotations

import numpy as np
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import AskError, ClusterDownError, MovedError, TryAgainError

from feature_store.online.cluster import is_redirect, slot_tag, tag_of_slot
from feature_store.online.layout import ViewLayout
from feature_store.store import PROJECT
from feature_store.views import USER_REALTIME
from inference.serving.result_cache import key


def test_a_tag_for_every_slot() -> None:
    assert [key_slot(b"x:{%s}" % tag_of_slot(s)) for s in range(REDIS_CLUSTER_HASH_SLOTS)] == list(range(REDIS_CLUSTER_HASH_SLOTS))


def test_the_result_cache_shares_its_users_slot_whatever_bytes_the_feast_key_holds() -> None:
    layout = ViewLayout(USER_REALTIME, PROJECT)
    users = [*range(1, 2_000), 0x7B, 0x7D7B, 0x7B7D, 0x7B0000007D, -1, 2**63 - 1, *np.random.default_rng(3).integers(0, 2**40, 2_000).tolist()]
    assert b"{" in layout.key(0x7B) and b"}" in layout.key(0x7D7B)  # keys with braces of their own are among them
    assert all(key_slot(key(u)) == key_slot(layout.key(u)) for u in users)
    assert len({key_slot(layout.key(u)) for u in range(1, 2_000)}) > 1_500  # users spread over the slots


def test_redirections_are_told_from_other_errors() -> None:
    assert is_redirect(Exception("MOVED 3999 127.0.0.1:7001")) and is_redirect(Exception("CLUSTERDOWN The cluster is down"))
    assert all(is_redirect(e("3999 127.0.0.1:7001")) for e in (MovedError, AskError, ClusterDownError, TryAgainError))
    assert is_redirect(Exception("Script attempted to access a non local key in a cluster node script: 1a2b"))
    assert is_redirect(Exception("Script attempted to execute a command while the cluster is down script: 7202"))
    assert not is_redirect(Exception("WRONGTYPE Operation against a key holding the wrong kind of value"))
    assert slot_tag(b"abc") == tag_of_slot(key_slot(b"abc"))
