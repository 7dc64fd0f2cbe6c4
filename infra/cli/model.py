"""`freshrec train` and `freshrec eval`: the offline model run and the re-scoring of a saved model directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from inference.latent_reasoning import MODES as REASONING_MODES
from inference.runtimes import RUNTIMES, RuntimeUnavailable
from infra.cli.datasets import DatasetChoice
from infra.config import Settings


@click.command()
@click.option("--preset", type=click.Choice(["full", "raw", "smoke", "small", "taobao", "demo"]), default="full",
              show_default=True,
              help="full: the reported run (hybrid compressed input: 4 interest slots + the last 5 of 50 items); "
                   "raw: the same with the last 20 items as tokens; smoke: a few minutes on a subset, for CI; "
                   "small: the smoke model on a whole small dataset (MovieLens-100K); taobao: the smoke model with "
                   "behaviour-tiered listwise DPO (use with --dataset taobao); demo: one epoch of every stage (freshrec demo).")  # fmt: skip
@click.option("--dataset", type=DatasetChoice(["beauty", "movielens", "taobao"]), default="beauty", show_default=True,
              help="The dataset files to train on (with --source files); amazon:<Category> reads any Amazon "
                   "category's S3-Rec files in the datasets folder's amazon/ as Beauty is read.")  # fmt: skip
@click.option("--source", type=click.Choice(["files", "store"]), default="files", show_default=True,
              help="files: the dataset's files; store: the feature store's event log (what streamed in or was "
                   "backfilled) and its item catalogue (`freshrec items load`).")  # fmt: skip
@click.option("--before", default=None,
              help="UTC date YYYY-MM-DD: train only on interactions before it (movielens, store; with --source store "
                   "the default is today: every complete day, the daily retrain).")  # fmt: skip
@click.option("--device", default="auto", show_default=True, help="cpu, cuda or auto (cuda when available).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tokenizer", type=click.Choice(["rqkmeans", "rqvae"]), default=None,
              help="Semantic ids from residual k-means or TIGER's RQ-VAE (default: the preset's; full: rqvae).")
@click.option("--item-text/--no-item-text", default=True, show_default=True,
              help="Describe items by their text through the offline MiniLM where the dataset has text (movielens).")
@click.option("--reasoning", type=click.Choice(REASONING_MODES), default=None,
              help="Latent reasoning in the user encoder: plr (parallel latent reasoning streams), erl / prl "
                   "(ReaRec's single trajectory, ensemble / progressive), none (default: the preset's).")  # fmt: skip
@click.option("--reasoning-in", type=click.Choice(["gr", "sasrec", "both"]), default="gr", show_default=True,
              help="Which encoder reasons: the generative retriever's, CE-SASRec's, or both.")
@click.option("--reasoning-streams", type=click.IntRange(1), default=None, help="PLR's parallel streams M.")
@click.option("--reasoning-depth", type=click.IntRange(1), default=None, help="Reasoning steps per stream.")
@click.option("--reasoning-regulariser", type=click.FloatRange(0), default=None,
              help="Weight of the streams' diversity regulariser (mean pairwise cosine; 0: off).")
@click.option("--item-loss", type=click.FloatRange(0), default=None,
              help="Weight of the GR's item head's next-item cross-entropy over every item in next-token "
                   "training (0: off, no item head; default: the preset's, full: 0.5).")  # fmt: skip
@click.option("--ldpo/--no-ldpo", default=None, help="Train the listwise DPO stage (default: the preset's).")
@click.option("--rsp/--no-rsp", default=None, help="Train the refined scorer (default: the preset's).")
@click.option("--fusion/--no-fusion", default=None,
              help="Fuse a dense ranker's scores and top items into the final ranking: the GR's own item head "
                   "(where --item-loss trained it) or CE-SASRec, the ranker and its weights chosen on validation "
                   "(default: the preset's).")  # fmt: skip
@click.option("--models-dir", type=click.Path(path_type=Path), default=None, help="Default: models_dir setting.")
@click.pass_obj
def train(settings: Settings, preset: str, dataset: str, source: str, before: str | None, device: str, seed: int,
          tokenizer: str | None, item_text: bool, reasoning: str | None, reasoning_in: str,
          reasoning_streams: int | None, reasoning_depth: int | None, reasoning_regulariser: float | None,
          item_loss: float | None, ldpo: bool | None, rsp: bool | None, fusion: bool | None, models_dir: Path | None) -> None:  # fmt: skip
    """Train most-popular, CE-SASRec, semantic ids, GR (NTP, + listwise DPO), the refined scorer and the fusion
    with CE-SASRec; evaluate all (leave-one-out, full ranking) and write a versioned model directory."""
    import dataclasses

    import torch

    from inference.fusion import KAPPA
    from inference.pipeline import PRESETS, STORE, run, with_reasoning
    from inference.report import results_table
    from inference.sequences import SequenceDataError
    from inference.text_embeddings import TextEncoderMissing
    from sources.datasets import DatasetError

    if source == "store" and before is None:
        before = datetime.now(UTC).date().isoformat()
    base = PRESETS[preset]
    stages: dict[str, object] = {name: on for name, on in (("ldpo", ldpo), ("rsp", rsp)) if on is not None}
    if fusion is not None:
        stages["fusion"] = (base.fusion or KAPPA) if fusion else None
    if item_loss is not None:
        stages["gr"] = dataclasses.replace(base.gr, item_loss=item_loss)
    config = dataclasses.replace(base, dataset=STORE if source == "store" else dataset, seed=seed, before=before, item_text=item_text,
                                 tokenizer=tokenizer or base.tokenizer,
                                 **stages)  # fmt: skip
    changes = {"mode": reasoning, "streams": reasoning_streams, "depth": reasoning_depth,
               "regulariser": reasoning_regulariser}  # fmt: skip
    try:
        config = with_reasoning(config, reasoning_in, **{k: v for k, v in changes.items() if v is not None})
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reasoning") from exc
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    chosen = torch.device(device)
    try:
        directory = run(config, settings.datasets_dir, models_dir or settings.models_dir, chosen, settings.archives_dir,
                        settings.cache_dir, settings.offline_dir)  # fmt: skip
    except (SequenceDataError, DatasetError, TextEncoderMissing) as exc:
        raise click.ClickException(str(exc)) from exc
    metrics = json.loads((directory / "metrics.json").read_text())
    click.echo(results_table(metrics))
    click.echo(f"semantic ids: {json.dumps(metrics['semantic_ids'])}")
    click.echo(f"time: {metrics['timings']['total_s']:.0f} s on {metrics['device']}")
    click.echo(f"model directory: {directory}")


@click.command("eval")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--beam", type=int, default=None, help="Beam width (default: the scorer's λ).")
@click.option("--runtime", type=click.Choice(list(RUNTIMES)), default="torch", show_default=True,
              help="Runtime of the beam search: torch (reference), an exported one or a GPU one, to check its quality.")  # fmt: skip
@click.pass_obj
def evaluate_model(settings: Settings, model_dir: Path, beam: int | None, runtime: str) -> None:
    """Score a saved model directory on its dataset's test split again (checks the data fingerprint)."""
    from inference.evaluate_saved import evaluate_saved

    try:
        metrics = evaluate_saved(model_dir, settings.datasets_dir, beam, runtime, settings.archives_dir,
                                 settings.offline_dir)  # fmt: skip
    except (ValueError, RuntimeUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    for name, values in metrics.items():
        click.echo(f"{name}: " + "  ".join(f"{k} {v:.4f}" for k, v in values.items()))
