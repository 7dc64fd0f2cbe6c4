"""Model directories on disk, without loading torch: which one is newest.

Processes that only need a model's item table (the streaming writer's semantic ids) load it with
`inference.item_vocabulary` in milliseconds; `inference.artifacts` loads the rest.
"""

from __future__ import annotations

from pathlib import Path


def newest_model(models_dir: Path) -> Path:
    """The most recently written model directory directly under `models_dir` (hidden ones are being written)."""
    candidates = sorted((p for p in models_dir.glob("*/config.json") if not p.parent.name.startswith(".")),
                        key=lambda p: p.stat().st_mtime)  # fmt: skip
    if not candidates:
        raise FileNotFoundError(f"no model directory under {models_dir}: run `freshrec train` first")
    return candidates[-1].parent
