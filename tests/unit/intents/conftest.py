"""A scripted OpenAI-compatible server: the remote side of the client's contract, answers given by the test."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Scripted:
    def __init__(self) -> None:
        self.answers: list[str] = []
        self.requests: list[dict] = []


@pytest.fixture
def server() -> Iterator[tuple[Scripted, str]]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            script.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            script.requests[-1]["_auth"] = self.headers.get("Authorization")
            answer = script.answers.pop(0)
            body = json.dumps({"choices": [{"message": {"content": answer}}], "usage": {"prompt_tokens": 10, "completion_tokens": 3}})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield script, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
