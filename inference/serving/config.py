"""Serving settings, typed: the `serving` section of freshrec's configuration (FRESHREC_SERVING__*)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from inference.runtimes import RUNTIMES

Runtime = Literal[tuple(RUNTIMES)]  # type: ignore[valid-type]  # the registry's names, checked and in the schema


class ServingConfig(BaseModel):
    model_dir: Path | None = Field(None, description="model directory to serve, always; default: the newest under "
                                   "models_dir, followed: a newer one is swapped in without dropping a request")  # fmt: skip
    model_poll_s: float = Field(30.0, ge=0, description="how often a server following the newest model looks for a "
                                "newer one; 0: never")  # fmt: skip
    runtime: Runtime = Field("onnx-int8", description="torch (reference), onnx (onnxruntime, exact) or onnx-int8 (quantized, the CPU default)")
    beam: int = Field(20, ge=1, le=500, description="λ: beam width = candidates the refined scorer re-ranks (20 gives "
                      "the Beauty model's beam-50 test metrics at less cost; docs/serving.md)")
    max_k: int = Field(20, ge=1, description="largest k a request may ask for (at most the beam)")
    max_batch: int = Field(16, ge=1, description="micro-batch size limit; 1 turns micro-batching off")
    max_wait_ms: float = Field(2.0, ge=0, description="how long a batch waits for more requests once it has one")
    compute_workers: int = Field(2, ge=1, description="threads running batches at once (onnxruntime frees the GIL)")
    threads_per_worker: int = Field(1, ge=1, description="intra-op threads of each batch")
    max_queue: int = Field(2048, ge=1, description="requests waiting for compute beyond this are refused (503)")
    request_timeout_s: float = Field(2.0, gt=0, description="a request still unanswered after this gets 504")
    max_body_bytes: int = Field(65_536, ge=256, description="larger request bodies get 413")
    max_exclude: int = Field(1_000, ge=0, description="most item ids a request may exclude")
    api_key: SecretStr | None = Field(None, description="when set, /recommend requires the X-API-Key header")
    cache_ttl_s: int = Field(86_400, ge=1, description="cached results expire after this")
    intent_items: int = Field(2, ge=0, description="of the k items, how many the intent channel fills when the user "
                              "has intent tags: unseen items of the categories the tags name, most popular first; 0 "
                              "turns the channel off")  # fmt: skip
    min_item_coverage: float = Field(0.5, ge=0, le=1, description="at start, the share of item ids in the online "
                                     "store's recent histories (sampled) the model must know, else it refuses to "
                                     "start (--force starts anyway); 0 turns the check off")  # fmt: skip
    refresh_max_lag_ms: int = Field(500, ge=0, description="the refresher sheds an update whose event is older "
                                    "than this when polled (an overload: the API computes that user's result on "
                                    "request instead); 0: never shed (a replayed history is all old)")  # fmt: skip
    feature_max_age_days: int | None = Field(None, ge=1, description="features older than this (by event time) "
                                             "count as missing (the user is cold); default: each view's ttl "
                                             "(user_realtime 7 days, user_intent 2). Serving a replayed history "
                                             "(the demo's 1997 MovieLens) needs it far higher")  # fmt: skip
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(1, ge=1, description="API processes sharing the port, each with its own model and event loop")
