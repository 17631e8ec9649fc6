"""The "Model card" panel of each tab: the chosen model's data, licence and known biases and limits
(``studio/model_cards.py``), following the tab's model menu."""

from __future__ import annotations

import gradio as gr

from studio.model_cards import card_markdown
from studio.params import ParamError
from studio.services import Services
from studio.ui.handles import TabHandles


def card_of(services: Services, modality: str, model_id: str | None) -> str:
    """The card of ``model_id`` (the default model when empty), or a line saying the model is not available."""
    try:
        spec = services.catalog.get(modality, model_id) if model_id else services.catalog.default(modality)
    except ParamError:
        return "Pick an available model to see its card."
    return card_markdown(spec)


def build_model_card(services: Services, modality: str, handles: TabHandles) -> None:
    """The panel, under the tab's other controls; it follows the model menu when the tab has one."""
    menu = handles.widgets.get("model")
    first = getattr(menu, "value", None) if menu is not None else None
    with gr.Accordion("Model card: data, licence, known biases and limits", open=False, elem_id=f"{modality}-card"):
        card = gr.Markdown(card_of(services, modality, first if isinstance(first, str) else None))
    if isinstance(menu, gr.Dropdown):

        def show(model_id: str | None) -> str:
            return card_of(services, modality, model_id if isinstance(model_id, str) else None)

        menu.change(show, [menu], [card], api_visibility="private", queue=False)
