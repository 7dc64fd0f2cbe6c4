from __future__ import annotations

from pathlib import Path

import pytest

from infra.jars import BUNDLES, JarError, fetch, read_lock, sha256, verify


def test_lock_pins_every_bundle() -> None:
    lock = read_lock()
    assert set(lock) == set(BUNDLES)
    assert "kafka_2.13-4.4.0.jar" in lock["kafka-broker"]
    assert "flink-sql-connector-kafka-4.0.1-2.0.jar" in lock["flink-connectors"]
    assert all(len(digest) == 64 for jars in lock.values() for digest in jars.values())


def test_verify_reports_missing_extra_and_tampered(tmp_path: Path) -> None:
    (tmp_path / "a.jar").write_bytes(b"alpha")
    (tmp_path / "b.jar").write_bytes(b"tampered")
    (tmp_path / "extra.jar").write_bytes(b"x")
    expected = {"a.jar": sha256(tmp_path / "a.jar"), "b.jar": "0" * 64, "c.jar": "1" * 64}
    assert sorted(verify(tmp_path, expected)) == ["checksum mismatch for b.jar", "missing c.jar", "unexpected extra.jar"]
    (tmp_path / "extra.jar").unlink()
    (tmp_path / "b.jar").unlink()
    assert verify(tmp_path, {"a.jar": sha256(tmp_path / "a.jar")}) == []


def test_unknown_bundle(tmp_path: Path) -> None:
    with pytest.raises(JarError, match="unknown jar bundle"):
        fetch("spark", tmp_path)
