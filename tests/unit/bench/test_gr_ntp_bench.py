import pytest
import torch

from bench.gr_ntp_bench import Variant, level_targets, parse


def test_variants_parse() -> None:
    assert parse("cosine-2e-3") == Variant("cosine-2e-3", "cosine", 2e-3, 0.0, 0.0)
    assert parse("constant-1e-3-distil0.5") == Variant("constant-1e-3-distil0.5", "constant", 1e-3, 0.5, 0.0)
    assert parse("cosine-2e-3-item0.5") == Variant("cosine-2e-3-item0.5", "cosine", 2e-3, 0.0, 0.5)
    with pytest.raises(SystemExit, match="distil"):
        parse("cosine")


def test_the_teacher_is_summed_onto_each_level_below_the_targets_prefix() -> None:
    # items 1-4 (row 0: padding) with two code levels; the target, item 2, has codes (0, 1)
    codes = torch.tensor([[0, 0], [0, 0], [0, 1], [1, 0], [1, 1]])
    probs = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]])
    first, second = level_targets(probs, codes, torch.tensor([2]), [2, 2])
    assert torch.allclose(first, torch.tensor([[0.3, 0.7]]))  # items 1, 2 | items 3, 4
    assert torch.allclose(second, torch.tensor([[1 / 3, 2 / 3]]))  # only the items under the target's first code
