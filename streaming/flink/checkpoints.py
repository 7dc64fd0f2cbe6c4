"""Durable checkpoints and savepoints: where they go, and which one a restarted or resubmitted job resumes.

A mini-cluster lives inside the submitting process, so a crash takes the job with it; what survives is the
checkpoint directory. Checkpoints are retained when the job ends (RETAIN_ON_CANCELLATION), a job on a session
cluster that is stopped gracefully leaves a savepoint under `SAVEPOINTS`, and a new submission restores the newest
complete one of either (`_metadata` written last), whichever earlier run wrote it. The restored state and the Kafka
offsets stored with it are consistent, so every event after it is replayed exactly once into the state; outputs
after it are written again (at-least-once sinks), which versioned snapshots make harmless.
"""

from __future__ import annotations

from pathlib import Path

SAVEPOINTS = "savepoints"
"""The folder of a checkpoint directory that savepoints go to (`stream run --jobmanager` stopped gracefully)."""
TMP = "tmp"
"""The folder of a checkpoint directory for the in-process job's temporary files (`JobConfig.tmp_dir`): local
beside the state it serves, emptied at each start."""


def latest_checkpoint(directory: Path) -> Path | None:
    """The newest complete checkpoint (`<job id>/chk-<n>`) or savepoint (`savepoints/savepoint-*`) under
    `directory`, by its `_metadata`, if any."""
    metadata = [*directory.glob("*/chk-*/_metadata"), *directory.glob(f"{SAVEPOINTS}/savepoint-*/_metadata")]
    complete = [m.parent for m in metadata if m.is_file()]
    return max(complete, key=lambda c: c.joinpath("_metadata").stat().st_mtime_ns, default=None)


def checkpoint_options(directory: Path, interval: str) -> dict[str, str]:
    """Flink options: checkpoint every `interval` into `directory`, keep them, and resume from the newest one."""
    options = {
        "execution.checkpointing.interval": interval,
        "execution.checkpointing.dir": directory.resolve().as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "2",
    }
    resume = latest_checkpoint(directory)
    if resume is not None:
        options["execution.state-recovery.path"] = resume.resolve().as_uri()
    return options
