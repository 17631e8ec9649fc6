"""The studio's APIs for the clients people already run, on the studio's own server and port:

- ``openai_compat``: OpenAI's ``/v1`` (chat/completions, completions, models) for chat front-ends, editors, agents;
- ``a1111``: AUTOMATIC1111's ``/sdapi/v1`` (txt2img, img2img, sd-models, options, progress, png-info, ...) for
  image clients and bots.

Both translate their protocol into the tab's own ``<Modality>Params`` and run it through the same engine (``Studio``:
validation, memory manager, result cache, recipe) as the Text and Image tabs. ``api_routes`` hands their routes to
``studio/launch.py``, which gives them to the FastAPI app Gradio makes; ``studio/server/api_keys.py`` guards them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from studio.services import Services


def api_routes(services: Services) -> list[BaseRoute]:
    """The routes of both APIs, sharing one lane (``lane``) so API generations run one at a time."""
    from studio.api.a1111 import a1111_routes
    from studio.api.lane import Lane
    from studio.api.openai_compat import openai_routes

    lane = Lane()
    return [*openai_routes(services, lane), *a1111_routes(services, lane)]
