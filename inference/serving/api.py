"""The HTTP API (FastAPI; OpenAPI at /openapi.json, docs at /docs).

    POST /recommend  {user_id, k, exclude?} -> items with scores, how they were made, intent tags, a reason
    GET  /healthz    the process answers          GET /readyz  model loaded and Redis reachable
    GET  /metrics    Prometheus

With an API key configured (`serving.api_key`; required beyond loopback), `/recommend` and `/metrics` need it, in
`X-API-Key` or as `Authorization: Bearer` (what Prometheus's scrape `authorization` sends). `/healthz` and `/readyz`
stay open (probes carry no key and their answers no data), and so do `/docs` and `/openapi.json`: they describe the
public contract, hold no data, and a browser loading `/docs` cannot send a header.

Errors are 4xx with a message for what the client got wrong (validation 422, unreadable JSON 400, body too large
413, missing or wrong API key 401), 503 with Retry-After when overloaded, not ready or the feature store is
unavailable, 504 past the request timeout: never a 5xx for bad input, never a 500 for an outage. No error body
carries text from inside the service (an exception's message, the store's reply): that goes to the log.
(No `from __future__ import annotations` here: FastAPI reads the request model from the handler's annotations.)
"""

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import hiredis
import orjson
import redis
from fastapi import FastAPI, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from inference.serving.batching import Overloaded
from inference.serving.config import ServingConfig
from inference.serving.service import RecommendationService

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[dict, Receive, Send], Awaitable[None]]

MAX_ID = 2**53 - 1
"""Ids are JSON numbers: beyond 2^53 a client's double silently rounds them into another id."""
RETRY_AFTER_S = b"1"
log = logging.getLogger(__name__)


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer: 3 and 3.0, never true, false or "3" (pydantic's lax int would take them all, its strict
    int would refuse 3.0)."""
    if type(value) is int or (type(value) is float and value.is_integer()):
        return value
    raise ValueError("Input should be a JSON integer")


JsonInt = BeforeValidator(_json_integer)
# the bounds before the validator: after it, pydantic leaks them into the OpenAPI schema as "ge"/"le"
Id = Annotated[int, Field(ge=0, le=MAX_ID), JsonInt]


class ScoredItem(BaseModel):
    item_id: int
    score: float = Field(description="the channel's own score: the model's for generative items, popularity otherwise")
    source: str = Field(description="the channel the item came from: generative, intent (the user's intent tags' "
                        "categories) or popular")  # fmt: skip


class RecommendResponse(BaseModel):
    user_id: int
    items: list[ScoredItem]
    path: str = Field(description="cached (current for the user's feature version), computed, or cold (fallback)")
    source: str = Field(description="generative, or popular for a cold user")
    fallback: bool = Field(description="true when the user is cold and got the popular fallback")
    feature_version: int | None = Field(description="version of the user's features the result reflects")
    model: str
    intent_tags: list[str]
    reason: str


class ErrorResponse(BaseModel):
    detail: Any


def create_app(service: RecommendationService, config: ServingConfig, client: redis.Redis) -> ASGIApp:
    """The FastAPI app (routes, OpenAPI, errors) behind the `/recommend` fast path, behind the body limit."""
    class RecommendRequest(BaseModel):
        model_config = {"extra": "forbid"}
        user_id: Id
        k: Annotated[int, Field(ge=1, le=min(config.max_k, config.beam)), JsonInt] = Field(10, description="how many items")
        exclude: list[Id] = Field(
            default_factory=list, max_length=config.max_exclude, description="item ids never to return")

    app = FastAPI(title="freshrec ranking API", version="1")
    errors = {c: {"model": ErrorResponse} for c in (400, 401, 413, 422, 503, 504)}

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        unreadable = any(e.get("type") == "json_invalid" for e in exc.errors())
        service.metrics.errors.labels("400" if unreadable else "422").inc()
        if unreadable:
            return _error(400, "request body is not valid JSON")
        return _json({"detail": [{k: e[k] for k in ("loc", "msg", "type")} for e in exc.errors()]}, 422)

    key = config.api_key.get_secret_value().encode() if config.api_key else None
    guard = [Security(_api_key_check(key, service))] if key else []

    async def answer(body: RecommendRequest) -> tuple[int, dict]:
        """The one implementation of /recommend, behind both the fast path and the FastAPI route."""
        start = time.perf_counter()
        try:
            rec = await asyncio.wait_for(service.recommend(body.user_id, body.k, body.exclude), config.request_timeout_s)
        except TimeoutError:
            service.metrics.errors.labels("504").inc()
            return 504, {"detail": f"no answer within {config.request_timeout_s} s"}
        except Overloaded:
            service.metrics.errors.labels("503").inc()
            return 503, {"detail": "overloaded: try again shortly"}
        except (ConnectionError, redis.RedisError, hiredis.ReplyError) as exc:  # the store is down, restarting, full
            service.metrics.errors.labels("503").inc()
            log.warning("feature store unavailable: %s", exc)
            return 503, {"detail": "feature store unavailable"}
        service.metrics.latency.labels(rec.path).observe(time.perf_counter() - start)
        return 200, {
            "user_id": rec.user_id, "items": [{"item_id": i, "score": s, "source": c} for i, s, c in zip(rec.items, rec.scores, rec.sources)],
            "path": rec.path, "source": rec.source, "fallback": rec.path == "cold",
            "feature_version": rec.feature_version, "model": rec.model, "intent_tags": rec.intent_tags,
            "reason": rec.reason,
        }  # fmt: skip

    @app.post("/recommend", response_model=RecommendResponse, responses=errors, dependencies=guard)
    async def recommend(body: RecommendRequest) -> Response:
        status, content = await answer(body)
        return _json(content, status)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"model": ErrorResponse}})
    async def readyz() -> Response:
        try:  # bounded: a paused or hung server must fail the probe, not hang it
            await asyncio.wait_for(asyncio.to_thread(client.ping), config.request_timeout_s)
        except (redis.RedisError, TimeoutError) as exc:
            log.warning("not ready: feature store unreachable: %s", exc or "no answer")
            return _error(503, "feature store unreachable")
        return _json({"status": "ready", "model": service.ranker.model_id})

    @app.get("/metrics", response_class=PlainTextResponse, responses={401: {"model": ErrorResponse}}, dependencies=guard)
    async def metrics() -> Response:
        service.metrics.queue_depth.set(service.compute.depth())
        return Response(service.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return BodyLimit(RecommendFastPath(app, RecommendRequest, answer, key), config.max_body_bytes)


def _api_key_check(expected: bytes, service: RecommendationService) -> Callable[..., None]:
    """A security dependency (declared in the OpenAPI spec), present only when a key is configured: without one the
    request path carries no header parsing at all."""

    def check(key: Annotated[str | None, Security(APIKeyHeader(name="X-API-Key", auto_error=False))],
              bearer: Annotated[HTTPAuthorizationCredentials | None, Security(HTTPBearer(auto_error=False))]) -> None:  # fmt: skip
        given = key if key is not None else bearer.credentials if bearer is not None else None
        if given is None or not hmac.compare_digest(given.encode(), expected):
            service.metrics.errors.labels("401").inc()
            raise HTTPException(401, "missing or wrong API key (X-API-Key, or Authorization: Bearer)")

    return check


def key_matches(headers: dict[bytes, bytes], expected: bytes) -> bool:
    """Whether the request carries the API key, in X-API-Key or as a Bearer token (compared in constant time)."""
    given = headers.get(b"x-api-key")
    if given is None:
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        given = token.strip() if scheme.lower() == b"bearer" else b""
    return hmac.compare_digest(given, expected)


class BodyLimit:
    """413 for a body over `max_bytes`: at once from Content-Length, else (chunked) as soon as the count passes it,
    after which the app is told the client left and whatever it answers is dropped.
    Plain ASGI: Starlette's BaseHTTPMiddleware would cost more per request than the cached path itself."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = _error(413, f"request body over {self.max_bytes} bytes")
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await too_large(scope, receive, send)
        seen, refused = 0, False

        async def counted() -> dict:
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes and not refused:
                refused = True
                await too_large(scope, receive, send)
            return {"type": "http.disconnect"} if refused else message

        async def unless_refused(message: dict) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, counted, unless_refused)
        except Exception:
            if not refused:
                raise


class RecommendFastPath:
    """A valid, authorised `POST /recommend` answered straight from ASGI; anything else (other routes, a body that
    fails `request_model`, a wrong key, a non-JSON content type) goes on to the FastAPI app with its body replayed,
    and FastAPI validates, documents and answers it as before.

    Why: FastAPI's request handling (dependency solving, its middleware stack) costs ~130 us a request on this
    machine, more than the cached path itself. Validation is the same `request_model`, so the fast path accepts
    exactly what the route would; it only skips the framework around it."""

    def __init__(self, app: ASGIApp, request_model: type[BaseModel], answer: Callable[[Any], Awaitable[tuple[int, dict]]],
                 api_key: bytes | None) -> None:  # fmt: skip
        self.app, self.request_model, self.answer, self.api_key = app, request_model, answer, api_key

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/recommend" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left (or the body limit refused it)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        request = self._valid(dict(scope["headers"]), body)
        if request is None:
            replayed = False

            async def replay() -> dict:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            return await self.app(scope, replay, send)
        status, content = await self.answer(request)
        payload = orjson.dumps(content)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
        await send({"type": "http.response.start", "status": status, "headers": headers + _retry_after(status)})
        await send({"type": "http.response.body", "body": payload})

    def _valid(self, headers: dict[bytes, bytes], body: bytes) -> BaseModel | None:
        if self.api_key is not None and not key_matches(headers, self.api_key):
            return None
        content_type = headers.get(b"content-type")  # FastAPI reads JSON only when it is declared so
        if content_type is None or content_type.split(b";")[0].strip().lower() != b"application/json":
            return None
        try:
            return self.request_model.model_validate_json(body)
        except ValidationError:
            return None


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status, {k.decode(): v.decode() for k, v in _retry_after(status)},
                    media_type="application/json")  # fmt: skip


def _retry_after(status: int) -> list[tuple[bytes, bytes]]:
    """A 503 (overloaded, not ready, store unavailable) says when to try again, so clients back off instead of
    hammering a recovering service."""
    return [(b"retry-after", RETRY_AFTER_S)] if status == 503 else []


def _error(status: int, detail: str) -> Response:
    return _json({"detail": detail}, status)
