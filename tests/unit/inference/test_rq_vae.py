"""The RQ-VAE tokenizer learns (reconstruction falls), uses its codebooks, groups similar items, and is deterministic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inference.pipeline import PipelineConfig, semantic_ids
from inference.rq_vae import RQVAEConfig, rq_vae

SMALL = RQVAEConfig(hidden=(32,), latent=8, epochs=200, batch_size=128, reset_every=10, reset_until=150)


def clustered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(12, 16)) * 5
    cluster = rng.integers(0, 12, n)
    x = centers[cluster] + rng.normal(size=(n, 16))
    return np.concatenate([np.zeros((1, 16)), x]), cluster


def test_ids_are_unique_deterministic_and_in_range() -> None:
    x, _ = clustered(600)
    a, _ = rq_vae(x, levels=3, codebook_size=16, config=SMALL, seed=1)
    b, _ = rq_vae(x, levels=3, codebook_size=16, config=SMALL, seed=1)
    assert np.array_equal(a.codes, b.codes)
    assert a.codes.shape == (601, 4) and (a.codes[0] == 0).all() and a.codes[1:, :3].max() < 16
    assert len(np.unique(a.codes[1:], axis=0)) == 600


def test_training_lowers_reconstruction_error_and_keeps_codes_alive() -> None:
    x, _ = clustered(600)
    untrained, before = rq_vae(x, levels=3, codebook_size=16, config=RQVAEConfig(hidden=(32,), latent=8, epochs=0))
    trained, after = rq_vae(x, levels=3, codebook_size=16, config=SMALL)
    assert after["reconstruction_mse"] < 0.5 * before["reconstruction_mse"]
    stats = trained.stats()
    assert min(stats["usage_l0"], stats["usage_l1"], stats["usage_l2"]) >= 0.9 and stats["collision_rate"] < 0.3


def test_first_code_groups_items_of_one_cluster() -> None:
    x, cluster = clustered(600)
    sid, _ = rq_vae(x, levels=3, codebook_size=16, config=SMALL)
    first = sid.codes[1:, 0]
    purity = sum(np.bincount(cluster[first == code]).max() for code in np.unique(first)) / len(first)
    assert purity > 0.9


def test_the_pipeline_picks_the_configured_tokenizer() -> None:
    x, _ = clustered(300)
    config = PipelineConfig(codebook_size=16, tokenizer="rqvae", rq_vae=replace(SMALL, epochs=20, reset_until=10))
    sid, facts = semantic_ids(config, x)
    assert sid.codes.shape == (301, 4) and facts["reconstruction_mse"] > 0
    kmeans_sid, none = semantic_ids(replace(config, tokenizer="rqkmeans"), x)
    assert none == {} and not np.array_equal(kmeans_sid.codes, sid.codes)
    with pytest.raises(ValueError, match="unknown tokenizer"):
        semantic_ids(replace(config, tokenizer="vq"), x)
