"""Item text embeddings: the offline MiniLM encodes meaning, runs once per catalogue (cached), and feeds the content
half of the item embeddings the semantic ids are built from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference import text_embeddings
from inference.item_embeddings import item_embeddings
from inference.text_embeddings import embed_texts, item_text_vectors

TITLES = ["Toy Story (1995). Animation, Children's, Comedy", "Toy Story 2 (1999). Animation, Children's, Comedy",
          "Schindler's List (1993). Drama, War", "Saving Private Ryan (1998). Action, Drama, War"]  # fmt: skip


def test_similar_titles_are_close_and_vectors_unit_length(tmp_path: Path) -> None:
    vectors = embed_texts(TITLES, tmp_path)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] and similarity[0, 1] > similarity[0, 3]  # the sequel, not a war film
    assert similarity[2, 3] > similarity[2, 0]  # two war dramas


def test_encoded_once_per_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = embed_texts(TITLES, tmp_path)
    assert len(list(tmp_path.glob("text-embeddings-*.npy"))) == 1

    def no_encoder() -> None:
        raise AssertionError("encoded again although these texts are cached")

    monkeypatch.setattr(text_embeddings, "_encoder", no_encoder)
    np.testing.assert_array_equal(embed_texts(TITLES, tmp_path), first)
    with pytest.raises(AssertionError, match="encoded again"):  # other texts are not served from the cache
        embed_texts(TITLES[:2], tmp_path)


def test_item_rows_and_content_half(tmp_path: Path) -> None:
    texts = ["", TITLES[0], "", TITLES[2], TITLES[0]]  # item 2 has no text; items 1 and 4 share theirs
    rows = item_text_vectors(texts, tmp_path)
    assert rows.shape == (5, 384)
    assert not rows[0].any() and not rows[2].any() and rows[1].any()
    collaborative = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    embeddings = item_embeddings(collaborative, [[] for _ in texts], content_dim=2, texts=rows)
    assert embeddings.shape == (5, 66)
    np.testing.assert_array_equal(embeddings[:, :64], collaborative)
    np.testing.assert_allclose(embeddings[1, 64:], embeddings[4, 64:], atol=1e-6)  # same text, same content
    assert not embeddings[2, 64:].any() and np.abs(embeddings[1, 64:] - embeddings[3, 64:]).sum() > 0.1
