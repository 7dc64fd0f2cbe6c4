"""Serving settings, typed: the `serving` section of freshrec's configuration (FRESHREC_SERVING__*)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from inference.runtimes import RUNTIMES

Runtime = Literal[tuple(RUNTIMES)]  # type: ignore[valid-type]  # the registry's names, checked and in the schema


class ServingConfig(BaseModel):
    model_dir: Path | None = Field(None, description="model directory to serve, always; default: the newest under "
                                   "models_dir, followed: a newer one is swapped in without dropping a request")  # fmt: skip
    model_poll_s: float = Field(30.0, ge=0, description="how often a server following the newest model looks for a "
                                "newer one; 0: never")  # fmt: skip
    runtime: Runtime = Field("onnx-int8", description="torch (reference), onnx (onnxruntime, exact), onnx-int8 "
                             "(quantized, the CPU default); on a GPU: cuda (PyTorch, CUDA graphs), tensorrt or "
                             "tensorrt-fp16 (onnxruntime's TensorRT provider)")  # fmt: skip
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
    api_key: SecretStr | None = Field(None, description="the key /recommend and /metrics require (X-API-Key, or "
                                      "Authorization: Bearer); required to serve beyond loopback")  # fmt: skip
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

    @field_validator("api_key")
    @classmethod
    def _no_empty_key(cls, key: SecretStr | None) -> SecretStr | None:
        """An empty key (an unset variable, an empty Secret) is no key: never one that matches an empty header."""
        return key if key is not None and key.get_secret_value() else None

    def check_exposure(self, host: str, no_auth: bool = False) -> None:
        """Refuses (ValueError) to serve on `host` beyond loopback without an API key, unless `no_auth` says so: a
        missing key must never silently mean an open API."""
        if self.api_key is None and not no_auth and not is_loopback(host):
            raise ValueError(f"refusing to serve on {host} without an API key: set serving.api_key "
                             "(FRESHREC_SERVING__API_KEY, or a file: docs/operations.md), bind to 127.0.0.1, or pass "
                             "--no-auth to serve an open API on purpose")  # fmt: skip


def is_loopback(host: str) -> bool:
    """Whether `host` binds the loopback interface only ("localhost", 127.0.0.0/8, ::1); a name or 0.0.0.0 is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
