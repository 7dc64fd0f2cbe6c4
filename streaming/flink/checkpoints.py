"""Durable checkpoints for jobs run on a local mini-cluster: where they go, and which one a restarted job resumes.

A mini-cluster lives inside the submitting process, so a crash takes the job with it; what survives is the
checkpoint directory. Checkpoints are retained when the job ends (RETAIN_ON_CANCELLATION) and a new submission
restores the newest complete one (`_metadata` written last), whichever earlier run wrote it. The restored state and
the Kafka offsets stored with it are consistent, so every event after that checkpoint is replayed exactly once into
the state; outputs after it are written again (at-least-once sinks), which versioned snapshots make harmless.
"""

from __future__ import annotations

from pathlib import Path


def latest_checkpoint(directory: Path) -> Path | None:
    """The newest complete checkpoint (`<job id>/chk-<n>` with its `_metadata`) under `directory`, if any."""
    complete = [m.parent for m in directory.glob("*/chk-*/_metadata") if m.is_file()]
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
