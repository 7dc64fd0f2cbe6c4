"""Reference vs exported: the ONNX encoder and decoder step match PyTorch at shapes other than the export shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from inference.generative import GenerativeRetrieval, GRConfig
from inference.layers import key_mask
from inference.onnx_export import export


def test_onnx_graphs_match_torch_at_new_shapes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    codes = torch.randint(0, 8, (101, 4))
    codes[0] = 0
    model = GenerativeRetrieval(codes, [8, 8, 8, 8], GRConfig(dim=32, heads=2, ffn=64, max_length=10)).eval()
    encoder_path, decoder_path = export(model, tmp_path)
    encoder, decoder = ort.InferenceSession(str(encoder_path)), ort.InferenceSession(str(decoder_path))
    history = torch.randint(1, 101, (5, 7))
    history[:, :3] = 0
    history[0, :] = 0  # an all-padding row
    history[0, -1] = 9
    with torch.no_grad():
        memory = model.encode(history)[0]
        got = encoder.run(None, {"history": history.numpy()})[0]
        np.testing.assert_allclose(got, memory.numpy(), atol=1e-5)
        for width, length in ((1, 0), (6, 2), (4, 3)):
            prefix = torch.randint(0, 8, (5, width, length))
            want = model.decode(memory, key_mask(history == 0), prefix, last_only=True)
            tokens = model.decoder_input(prefix).numpy()
            got = decoder.run(None, {"memory": memory.numpy(), "history": history.numpy(), "tokens": tokens})[0]
            np.testing.assert_allclose(got, want.numpy(), atol=1e-5)
