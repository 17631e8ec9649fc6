"""AUTOMATIC1111's ``/sdapi/v1`` on the studio's server, for the image clients that speak it (the ``webuiapi``
package, Open WebUI's image generation, bots and plugins).

Routes: ``txt2img``, ``img2img`` (with ``mask``: inpainting), ``sd-models``, ``refresh-checkpoints``, ``samplers``,
``options`` (``sd_model_checkpoint``: the current model, switchable), ``progress``, ``interrupt``, ``png-info`` and
``scripts`` (none). A request is translated into the Image tab's values (``a1111_request``), checked by the same
``ImageParams`` and run by the same engine (memory manager, result cache, recipe) as the tab. Images go out as
base64 PNGs carrying the recipe and A1111's ``parameters`` text, so ``png-info`` (and A1111 itself) reads them
back; ``info`` is A1111's JSON string with ``recipe_id`` added.

The current model is the server's setting, as in A1111: ``POST options`` changes it for every API client (the
Image tab's menu is each visitor's own). An interrupted request answers 200 with no images and ``interrupted``
in its ``info``.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from studio.api.a1111_request import (
    SAMPLERS,
    A1111Error,
    a1111_field,
    decode_image,
    image_values,
    info_json,
    model_id,
    parse_infotext,
    prompt_styles,
)
from studio.api.http import BadBody, json_body, json_response
from studio.api.lane import Busy, Lane
from studio.engine import Result
from studio.generators.base import Cancelled, Context, Event
from studio.listing import model_entries
from studio.memory import OutOfMemory
from studio.params import ParamError
from studio.services import Services

log = logging.getLogger(__name__)

MODALITY = "image"


@dataclass
class Job:
    """The request the lane is running: its steps so far, a preview, and the Stop it listens to."""

    kind: str = "txt2img"
    started: float = field(default_factory=time.time)
    step: int = 0
    total: int = 0
    preview: Any = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def note(self, event: Event) -> None:
        """The engine's progress and previews (called from the generation's thread)."""
        if event.kind == "progress" and event.total:
            self.step, self.total = event.step, event.total
        elif event.kind == "preview" and event.data is not None:
            self.preview = event.data


class A1111Routes:
    """The handlers of ``/sdapi/v1`` (see the module docstring)."""

    def __init__(self, services: Services, lane: Lane) -> None:
        self.services = services
        self.lane = lane
        self.current_model = ""  # "" = the catalog's default
        self.job: Job | None = None
        self.interrupted = False

    # -- models and options ---------------------------------------------------------------------------------
    def _model(self) -> str:
        return self.current_model or self.services.catalog.default(MODALITY).id

    async def sd_models(self, request: Request) -> Response:
        """``GET sd-models``: every image model; ``title`` is what ``options`` and ``override_settings`` take."""
        models = [
            {
                "title": e.id,
                "model_name": e.id,
                "hash": e.weights_hash[:10],
                "sha256": e.weights_hash,
                "filename": e.id,
                "config": None,
                "label": e.label,
                "kind": e.kind,
                "source": e.source,
            }
            for e in model_entries(self.services.studio, MODALITY)
        ]
        return json_response(models)

    async def refresh(self, request: Request) -> Response:
        """``POST refresh-checkpoints``: scan the model folders again."""
        self.services.catalog.refresh()
        return json_response(None)

    async def samplers(self, request: Request) -> Response:
        """``GET samplers``: the samplers ``sampler_name`` takes."""
        return json_response([{"name": s, "aliases": [], "options": {}} for s in SAMPLERS])

    async def prompt_styles(self, request: Request) -> Response:
        """``GET prompt-styles``: the drawing styles ``styles`` takes (one at a time)."""
        return json_response(prompt_styles())

    async def scripts(self, request: Request) -> Response:
        """``GET scripts``: this server runs no A1111 scripts."""
        return json_response({"txt2img": [], "img2img": []})

    async def get_options(self, request: Request) -> Response:
        """``GET options``: the current model (and its hash), and the format images come in."""
        spec = self.services.catalog.get(MODALITY, self._model())
        return json_response(
            {"sd_model_checkpoint": spec.id, "sd_checkpoint_hash": spec.weights_hash, "samples_format": "png"}
        )

    async def set_options(self, request: Request) -> Response:
        """``POST options``: switch the current model (``sd_model_checkpoint``); other settings are not kept."""
        try:
            body = await json_body(request)
            wanted = body.get("sd_model_checkpoint")
            if wanted is not None:
                if not isinstance(wanted, str):
                    raise A1111Error("sd_model_checkpoint", "must be a model title from sd-models")
                self.current_model = self.services.catalog.get(MODALITY, model_id(wanted)).id
        except BadBody as exc:
            return json_response({"detail": str(exc)}, exc.status)
        except A1111Error as exc:
            return json_response(exc.body(), exc.status)
        except ParamError as exc:
            return json_response(A1111Error("sd_model_checkpoint", exc.message).body(), 422)
        return json_response(None)

    # -- progress ------------------------------------------------------------------------------------------
    async def progress(self, request: Request) -> Response:
        """``GET progress``: the running request's share done, its time left and a preview."""
        job = self.job
        state = {"skipped": False, "interrupted": self.interrupted, "job": "", "job_count": 0}
        if job is None:
            state.update(job_timestamp="0", job_no=0, sampling_step=0, sampling_steps=0)
            return json_response(
                {"progress": 0.0, "eta_relative": 0.0, "state": state, "current_image": None, "textinfo": None}
            )
        done = job.step / job.total if job.total else 0.0
        elapsed = time.time() - job.started
        eta = elapsed / done - elapsed if done > 0 else 0.0
        state.update(job=job.kind, job_count=1, job_no=0, sampling_step=job.step, sampling_steps=job.total)
        state["job_timestamp"] = time.strftime("%Y%m%d%H%M%S", time.localtime(job.started))
        skip = request.query_params.get("skip_current_image", "false").lower() == "true"
        image = None if skip or job.preview is None else _b64_png(job.preview)
        return json_response(
            {"progress": done, "eta_relative": eta, "state": state, "current_image": image, "textinfo": None}
        )

    async def interrupt(self, request: Request) -> Response:
        """``POST interrupt``: stop the running request at its next step."""
        job = self.job
        if job is not None:
            self.interrupted = True
            job.cancel.set()
        return json_response({})

    # -- generation ----------------------------------------------------------------------------------------
    async def txt2img(self, request: Request) -> Response:
        """``POST txt2img``."""
        return await self._generate(request, img2img=False)

    async def img2img(self, request: Request) -> Response:
        """``POST img2img`` (``mask``: inpainting)."""
        return await self._generate(request, img2img=True)

    async def _generate(self, request: Request, img2img: bool) -> Response:
        try:
            body = await json_body(request)
            params = self.services.studio.check(MODALITY, image_values(body, img2img, self._model()))
        except BadBody as exc:
            return json_response({"detail": str(exc)}, exc.status)
        except A1111Error as exc:
            return json_response(exc.body(), exc.status)
        except ParamError as exc:
            return json_response(A1111Error(a1111_field(exc.field), exc.message).body(), 422)
        job = Job(kind="img2img" if img2img else "txt2img")
        try:
            async with self.lane.turn():
                self.job, self.interrupted = job, False
                try:
                    result = await _run(self.services, params, job)
                finally:
                    self.job = None
        except Busy as exc:
            return json_response({"detail": str(exc)}, 429)
        except Cancelled:
            return json_response(_answer(body, [], json.dumps({"interrupted": True, "infotexts": []})))
        except ParamError as exc:
            return json_response(A1111Error(a1111_field(exc.field), exc.message).body(), 422)
        except OutOfMemory as exc:
            return json_response({"detail": str(exc)}, 503)
        except (ValueError, OSError, RuntimeError) as exc:
            log.exception("image generation through /sdapi/v1 failed")
            return json_response({"detail": f"image generation failed: {exc}"}, 500)
        pngs = [a.data for a in result.by_role("image")]
        infotexts = [_parameters(p) for p in pngs]
        info = info_json(params, result.recipe, infotexts)
        images = [base64.b64encode(p).decode("ascii") for p in pngs] if body.get("send_images", True) else []
        return json_response(_answer(body, images, info))

    async def png_info(self, request: Request) -> Response:
        """``POST png-info``: the ``parameters`` text of a PNG (as A1111 wrote it, or the studio), parsed."""
        try:
            body = await json_body(request)
            data = decode_image("image", body.get("image"))
            text, items = _png_text(data)
        except BadBody as exc:
            return json_response({"detail": str(exc)}, exc.status)
        except A1111Error as exc:
            return json_response(exc.body(), exc.status)
        except ParamError as exc:
            return json_response(A1111Error("image", exc.message).body(), 422)
        return json_response({"info": text, "items": items, "parameters": parse_infotext(text) if text else {}})


async def _run(services: Services, params: Any, job: Job) -> Result:
    import anyio.to_thread

    def work() -> Result:
        return services.studio.generate(MODALITY, params, Context(job.note, job.cancel))

    return await anyio.to_thread.run_sync(work)


def _answer(body: dict[str, Any], images: list[str], info: str) -> dict[str, Any]:
    """A1111's answer: the images, the request's parameters as received (images left out), the info string."""
    echoed = {k: v for k, v in body.items() if k not in ("init_images", "mask")}
    return {"images": images, "parameters": echoed, "info": info}


def _parameters(png: bytes) -> str:
    text, _ = _png_text(png)
    return text


def _png_text(data: bytes) -> tuple[str, dict[str, str]]:
    """The ``parameters`` text chunk of an image and its other text chunks; no pixel is decoded."""
    from studio.generators.image.upload import opened

    im = opened("image", data)
    chunks = {str(k): v for k, v in im.info.items() if isinstance(v, str)}
    return chunks.pop("parameters", ""), chunks


def _b64_png(image: Any) -> str | None:
    save = getattr(image, "save", None)
    if save is None:
        return None
    out = io.BytesIO()
    save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def a1111_routes(services: Services, lane: Lane) -> list[BaseRoute]:
    """The ``/sdapi/v1`` routes."""
    r = A1111Routes(services, lane)
    base = "/sdapi/v1"
    return [
        Route(f"{base}/txt2img", r.txt2img, methods=["POST"]),
        Route(f"{base}/img2img", r.img2img, methods=["POST"]),
        Route(f"{base}/sd-models", r.sd_models, methods=["GET"]),
        Route(f"{base}/refresh-checkpoints", r.refresh, methods=["POST"]),
        Route(f"{base}/samplers", r.samplers, methods=["GET"]),
        Route(f"{base}/scripts", r.scripts, methods=["GET"]),
        Route(f"{base}/prompt-styles", r.prompt_styles, methods=["GET"]),
        Route(f"{base}/options", r.get_options, methods=["GET"]),
        Route(f"{base}/options", r.set_options, methods=["POST"]),
        Route(f"{base}/progress", r.progress, methods=["GET"]),
        Route(f"{base}/interrupt", r.interrupt, methods=["POST"]),
        Route(f"{base}/png-info", r.png_info, methods=["POST"]),
    ]
