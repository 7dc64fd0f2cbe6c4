"""Model directories on disk, without loading torch: which one is newest, and what their files are called.

Processes that only need a model's tables (the streaming writer's semantic ids) find them here in milliseconds;
`inference.artifacts` loads the rest.
"""

from __future__ import annotations

from pathlib import Path

SEMANTIC_IDS = "semantic_ids.npy"
"""(num_items + 1, levels) codes, row = item id, row 0 = padding."""


def newest_model(models_dir: Path) -> Path:
    candidates = sorted((p for p in models_dir.glob("*/config.json")), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise FileNotFoundError(f"no model directory under {models_dir}: run `freshrec train` first")
    return candidates[-1].parent
