"""The user state's serializer reads back exactly what it wrote, user after user, and copies exactly: the JVM check
`jvm/UserBehaviorRoundTrip.java`, run against the job's jar and PyFlink's Flink (seconds, no cluster)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyflink

from streaming.flink.environment import job_jar

ROUND_TRIP = Path(__file__).parent / "jvm" / "UserBehaviorRoundTrip.java"


def test_users_round_trip_through_the_state_serializer() -> None:
    flink = Path(pyflink.__file__).parent / "lib" / "*"
    run = subprocess.run(["java", "-cp", f"{job_jar()}:{flink}", str(ROUND_TRIP)], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["ok", "60"]
