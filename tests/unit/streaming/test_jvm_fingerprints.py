"""The JVM functions know exactly the schema versions the registry holds, and write the newest."""

from __future__ import annotations

import re

from schemas.registry import default_registry
from streaming.flink.environment import JOB_JAR


def _java_fingerprints(java_class: str) -> set[str]:
    source = (JOB_JAR.parents[1] / f"src/main/java/io/freshrec/flink/{java_class}.java").read_text()
    return set(re.findall(r'hex\("([0-9a-f]{16})"\)', source))


def test_java_fingerprints_match_the_schema_registry() -> None:
    registry = default_registry()
    clicks = {registry.get(m, v).fingerprint.hex() for m, v in registry.versions() if m == "click_event"}
    assert _java_fingerprints("DecodeClick") == clicks  # reads every version
    assert _java_fingerprints("DeadLetters") == {registry.latest("dead_letter").fingerprint.hex()}  # writes the newest
    assert _java_fingerprints("SnapshotField") == {registry.latest("user_snapshot").fingerprint.hex()}


def test_the_job_writes_the_newest_snapshot_message() -> None:
    source = (JOB_JAR.parents[1] / "src/main/java/io/freshrec/flink/SnapshotField.java").read_text()
    newest = default_registry().latest("user_snapshot")
    assert re.findall(r'SCHEMA = "/avro/([^"]+)"', source) == [f"{newest.message}.v{newest.version}.avsc"]
