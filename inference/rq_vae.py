"""RQ-VAE semantic ids (TIGER; MODEL_SPEC.md §1.2): an MLP autoencoder whose latent is quantised by residual codebooks.

z = E(x); level d picks the codeword nearest the residual r_d and subtracts it; the decoder reads the sum of the
picked codewords (straight-through). Loss: reconstruction + per level ||sg[r_d] - e||^2 + beta ||r_d - sg[e]||^2.
The reproduction lessons are built in: standardised inputs, AdamW, codebooks initialised by residual k-means on the
untrained latents, and unused ("dead") codewords re-seeded at random residuals every `reset_every` epochs until
`reset_until`, then training without resets so the codes settle. Deterministic with a seed on one CPU thread;
with more, last-bit differences between runs can change ids (docs/model.md, Results).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from inference.semantic_ids import SemanticIds, kmeans, with_collision_codes


@dataclass(frozen=True)
class RQVAEConfig:
    """TIGER's shape (MLP 512-256-128 to a 32-d latent, beta 0.25, AdamW 1e-3). Epochs are sized for the full run's
    60-minute budget on 2 cores (~1 s per epoch on Beauty's 12k items here): 400, with resets for the first 250,
    where the reproduction log used 3,000 with resets for the first 2,000."""

    hidden: tuple[int, ...] = (512, 256, 128)
    latent: int = 32
    epochs: int = 400
    batch_size: int = 1024
    lr: float = 1e-3
    weight_decay: float = 0.01
    beta: float = 0.25
    reset_every: int = 10
    reset_until: int = 250


class RQVAE(nn.Module):
    def __init__(self, dim: int, levels: int, codebook_size: int, config: RQVAEConfig) -> None:
        super().__init__()
        widths = [dim, *config.hidden, config.latent]
        self.encoder = _mlp(widths)
        self.decoder = _mlp(widths[::-1])
        self.codebooks = nn.Parameter(torch.zeros(levels, codebook_size, config.latent))
        self.beta = config.beta

    def quantize(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(codes (n, levels), the summed codewords, the codebook + commitment loss)."""
        residual, total, loss, codes = z, torch.zeros_like(z), z.new_zeros(()), []
        for book in self.codebooks:
            chosen = torch.cdist(residual.detach(), book.detach()).argmin(1)
            e = book[chosen]
            loss = loss + ((residual.detach() - e) ** 2).sum(-1).mean()
            loss = loss + self.beta * ((residual - e.detach()) ** 2).sum(-1).mean()
            total = total + e
            residual = residual - e.detach()
            codes.append(chosen)
        return torch.stack(codes, 1), total, loss

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z = self.encoder(x)
        codes, quantized, loss = self.quantize(z)
        reconstruction = self.decoder(z + (quantized - z).detach())
        return loss + ((x - reconstruction) ** 2).sum(-1).mean(), codes

    @torch.no_grad()
    def residuals(self, x: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Per level, the residual it quantises and the codeword each row picks, for every row of `x`."""
        residual, out = self.encoder(x), []
        for book in self.codebooks:
            chosen = torch.cdist(residual, book).argmin(1)
            out.append((residual, chosen))
            residual = residual - book[chosen]
        return out


def rq_vae(embeddings: np.ndarray, levels: int = 3, codebook_size: int = 256, config: RQVAEConfig | None = None,
           seed: int = 0) -> tuple[SemanticIds, dict[str, float]]:  # fmt: skip
    """`embeddings`: (num_items + 1, dim), row 0 = padding (ignored). Returns the ids and training facts (final
    loss, reconstruction error, dead-code resets)."""
    config = config or RQVAEConfig()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.asarray(embeddings[1:], dtype=np.float32))
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    k = min(codebook_size, len(x))
    model = RQVAE(x.shape[1], levels, k, config)
    _init_codebooks(model, x, generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    resets, loss = 0, torch.zeros(())
    for epoch in range(config.epochs):
        for batch in torch.randperm(len(x), generator=generator).split(config.batch_size):
            loss, _ = model(x[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch < config.reset_until and (epoch + 1) % config.reset_every == 0:
            resets += _reset_dead_codes(model, x, generator)
    model.eval()
    with torch.no_grad():
        z = model.encoder(x)
        codes, quantized, _ = model.quantize(z)
        error = float(((x - model.decoder(quantized)) ** 2).sum(-1).mean())
    facts = {"final_loss": float(loss.detach()), "reconstruction_mse": error, "dead_code_resets": float(resets)}
    return SemanticIds(with_collision_codes(codes.numpy()), codebook_size), facts


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@torch.no_grad()
def _init_codebooks(model: RQVAE, x: Tensor, generator: torch.Generator) -> None:
    """Residual k-means on the untrained encoder's latents (the paper's first-batch k-means, on all items)."""
    residual = model.encoder(x)
    for level in range(model.codebooks.shape[0]):
        centroids, assign = kmeans(residual, model.codebooks.shape[1], 10, generator)
        model.codebooks[level] = centroids
        residual = residual - centroids[assign]


@torch.no_grad()
def _reset_dead_codes(model: RQVAE, x: Tensor, generator: torch.Generator) -> int:
    """Re-seed every codeword no item picks at a random residual of its level; returns how many were reset."""
    reset = 0
    for level, (residual, chosen) in enumerate(model.residuals(x)):
        book = model.codebooks[level]
        used = torch.bincount(chosen, minlength=len(book)) > 0
        dead = (~used).nonzero().squeeze(1)
        if len(dead):
            book[dead] = residual[torch.randint(len(residual), (len(dead),), generator=generator)]
            reset += len(dead)
    return reset
