"""The JVM decoder accepts exactly the click_event schema versions the registry holds."""

from __future__ import annotations

import re

from schemas.registry import default_registry
from streaming.flink.environment import JOB_JAR


def test_java_fingerprints_match_the_schema_registry() -> None:
    source = (JOB_JAR.parents[1] / "src/main/java/io/freshrec/flink/DecodeClick.java").read_text()
    java = set(re.findall(r'hex\("([0-9a-f]{16})"\)', source))
    registry = default_registry()
    python = {registry.get(m, v).fingerprint.hex() for m, v in registry.versions() if m == "click_event"}
    assert java == python
