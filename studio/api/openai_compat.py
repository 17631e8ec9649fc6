"""OpenAI's ``/v1`` on the studio's server: ``chat/completions``, ``completions`` (both streamed by server-sent
events when ``stream`` is true) and ``models``, for every client that speaks OpenAI (the ``openai`` package, Open
WebUI, SillyTavern, Continue, LangChain).

A request is translated into the Text tab's values (``openai_request``), checked by the same ``TextParams`` and run
by the same engine (memory manager, result cache, recipe) as the tab. Every response carries ``recipe_id`` (the id
of the recipe, the request's cache key) and ``seed`` (the seed used) beside OpenAI's fields, and ``studio`` (whether
it came from the cache). Errors are OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}`` with 400
naming the field (404 for a model that is not there, 429 when the API lane is full). A client that disconnects from
a stream stops its generation at the next token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from studio.api.http import BadBody, json_body, json_response
from studio.api.lane import Busy, Lane, iterate
from studio.api.openai_request import OpenAIError, chat_values, completion_values, openai_field
from studio.engine import Result
from studio.generators.base import Cancelled
from studio.listing import model_entries
from studio.memory import OutOfMemory
from studio.params import ParamError
from studio.services import Services

log = logging.getLogger(__name__)

FINISH = {"eos": "stop", "stop": "stop", "length": "length"}
# What a generation may raise that the client is told about (ParamError is a ValueError; Busy and OutOfMemory are
# RuntimeErrors), as the Text tab tells its visitor.
ANSWERED = (ValueError, OSError, RuntimeError, Cancelled)


def _usage(result: Result) -> dict[str, int]:
    info = result.recipe.get("info") or {}
    prompt, new = int(info.get("prompt_tokens", 0)), int(info.get("new_tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": new, "total_tokens": prompt + new}


def _extras(result: Result) -> dict[str, Any]:
    """What the studio adds to OpenAI's fields: the recipe id, the seed used, whether it came from the cache."""
    return {"recipe_id": result.recipe["id"], "seed": result.seed, "studio": {"from_cache": result.from_cache}}


class OpenAIRoutes:
    """The handlers of ``/v1`` (see the module docstring), bound to the services and the API lane."""

    def __init__(self, services: Services, lane: Lane) -> None:
        self.services = services
        self.lane = lane

    # -- models ---------------------------------------------------------------------------------------------
    def _model_objects(self) -> list[dict[str, Any]]:
        return [
            {"id": e.id, "object": "model", "created": 0, "owned_by": e.source, "label": e.label, "kind": e.kind}
            for e in model_entries(self.services.studio, "text")
        ]

    async def models(self, request: Request) -> Response:
        """``GET /v1/models``: every text model of the catalog, ids as the Text tab uses them."""
        return json_response({"object": "list", "data": self._model_objects()})

    async def model(self, request: Request) -> Response:
        """``GET /v1/models/{id}``."""
        wanted = request.path_params["model"]
        for m in self._model_objects():
            if m["id"] == wanted:
                return json_response(m)
        return _error(OpenAIError(f"The model {wanted!r} does not exist", "model", 404, "model_not_found"))

    # -- generation -----------------------------------------------------------------------------------------
    async def chat(self, request: Request) -> Response:
        """``POST /v1/chat/completions``."""
        return await self._complete(request, chat_values, "chat.completion")

    async def completions(self, request: Request) -> Response:
        """``POST /v1/completions``."""
        return await self._complete(request, completion_values, "text_completion")

    async def _complete(self, request: Request, translate: Callable[[dict[str, Any]], Any], kind: str) -> Response:
        body: dict[str, Any] = {}
        try:
            body = await json_body(request)
            params = self.services.studio.check("text", translate(body))
        except BadBody as exc:
            return _error(OpenAIError(str(exc), None, exc.status))
        except OpenAIError as exc:
            return _error(exc)
        except ParamError as exc:
            return _error(_param_error(exc, body))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self._stream(params, kind, include_usage)
        try:
            result = await self.lane.run(lambda: self.services.studio.generate("text", params))
        except ANSWERED as exc:
            return _error(_failure(exc, body))
        return json_response(_whole(result, kind))

    async def _stream(self, params: Any, kind: str, include_usage: bool) -> Response:
        if self.lane.full:
            return _error(_failure(Busy("too many API requests are waiting; try again shortly"), {}))
        stamp: dict[str, Any] = {"id": f"{'chatcmpl' if kind == 'chat.completion' else 'cmpl'}-{time.time_ns():x}"}
        stamp.update(created=int(time.time()), model=params.model or "")

        async def events() -> AsyncIterator[bytes]:
            sent = ""
            try:
                async with self.lane.turn():
                    if kind == "chat.completion":
                        yield _sse(_chunk(stamp, kind, {"role": "assistant", "content": ""}, None))
                    async for item in iterate(self.services.studio.stream("text", params)):
                        if isinstance(item, Result):
                            for chunk in _last_chunks(stamp, kind, item, sent, include_usage):
                                yield _sse(chunk)
                        elif item.kind == "text" and isinstance(item.data, str) and item.data.startswith(sent):
                            piece, sent = item.data[len(sent) :], item.data
                            if piece:
                                yield _sse(_chunk(stamp, kind, _delta(kind, piece), None))
                yield b"data: [DONE]\n\n"
            except Cancelled:
                return
            except ANSWERED as exc:  # a stream that has begun can only end with an error event
                yield _sse(_failure(exc, {}).body())

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _last_chunks(
    stamp: dict[str, Any], kind: str, result: Result, sent: str, include_usage: bool
) -> list[dict[str, Any]]:
    """The stream's end: the rest of the text with the finish reason and the studio's extras, then the usage."""
    final = result.text or ""
    tail = final[len(sent) :] if final.startswith(sent) else ""
    reason = FINISH.get(str((result.recipe.get("info") or {}).get("finish_reason")), "stop")
    stamp["model"] = result.recipe["model"]["id"]
    chunks = [_chunk(stamp, kind, _delta(kind, tail), reason) | _extras(result)]
    if include_usage:
        chunks.append({**_chunk(stamp, kind, None, None), "choices": [], "usage": _usage(result)})
    return chunks


def _delta(kind: str, text: str) -> dict[str, Any]:
    return {"content": text} if kind == "chat.completion" else {"text": text}


def _chunk(stamp: dict[str, Any], kind: str, delta: dict[str, Any] | None, reason: str | None) -> dict[str, Any]:
    """One streamed chunk: ``chat.completion.chunk`` with a ``delta``, or a ``text_completion`` with ``text``."""
    if kind == "chat.completion":
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": reason, "logprobs": None}]
        return {**stamp, "object": "chat.completion.chunk", "choices": choices}
    choices = [] if delta is None else [{"index": 0, **delta, "finish_reason": reason, "logprobs": None}]
    return {**stamp, "object": "text_completion", "choices": choices}


def _whole(result: Result, kind: str) -> dict[str, Any]:
    """A finished (not streamed) response."""
    reason = FINISH.get(str((result.recipe.get("info") or {}).get("finish_reason")), "stop")
    text = result.text or ""
    prefix = "chatcmpl" if kind == "chat.completion" else "cmpl"
    if kind == "chat.completion":
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}}
    else:
        choice = {"index": 0, "text": text}
    choice.update(finish_reason=reason, logprobs=None)
    return {
        "id": f"{prefix}-{result.recipe['id'][:24]}",
        "object": kind,
        "created": int(time.time()),
        "model": result.recipe["model"]["id"],
        "system_fingerprint": f"studio-{result.recipe['model'].get('weights_hash', '')[:16]}",
        "choices": [choice],
        "usage": _usage(result),
        **_extras(result),
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def _param_error(exc: ParamError, body: dict[str, Any]) -> OpenAIError:
    field = openai_field(exc.field, body)
    if exc.field == "model":
        return OpenAIError(f"model: {exc.message}", "model", 404, "model_not_found")
    return OpenAIError(f"{field}: {exc.message}", field)


def _failure(exc: Exception, body: dict[str, Any]) -> OpenAIError:
    """An exception from a generation as OpenAI's error (the studio's log keeps the traceback of real failures)."""
    if isinstance(exc, ParamError):  # the prompt too long for the model's context, say
        return _param_error(exc, body)
    if isinstance(exc, Busy):
        return OpenAIError(str(exc), None, 429, "rate_limit_exceeded", "rate_limit_error")
    if isinstance(exc, OutOfMemory):
        return OpenAIError(str(exc), None, 503, "out_of_memory", "server_error")
    if isinstance(exc, Cancelled):
        return OpenAIError("the generation was stopped", None, 499, "cancelled", "server_error")
    log.exception("text generation through /v1 failed", exc_info=exc)
    return OpenAIError(f"text generation failed: {exc}", None, 500, None, "server_error")


def _error(err: OpenAIError) -> Response:
    return json_response(err.body(), err.status)


def openai_routes(services: Services, lane: Lane) -> list[BaseRoute]:
    """The ``/v1`` routes."""
    r = OpenAIRoutes(services, lane)
    return [
        Route("/v1/models", r.models, methods=["GET"]),
        Route("/v1/models/{model:path}", r.model, methods=["GET"]),
        Route("/v1/chat/completions", r.chat, methods=["POST"]),
        Route("/v1/completions", r.completions, methods=["POST"]),
    ]
