"""The "Loaded models" panel: each model's device, memory and last use, live from the memory manager, with Unload.

Unloading makes every visitor's next request pay a model load, so only the studio's operators (``Operators``) see
the Unload controls, and the handlers check the caller again: they are reachable over the raw API by ``fn_index``.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.cluster import view as cluster_view
from studio.server.operators import Operators
from studio.services import Services

COLUMNS = ["model", "device", "MB", "idle (s)", "in use"]
NOT_OPERATOR = (
    "Unloading models is for the studio's operator only (--admin): it makes every visitor's next request load "
    "the model again."
)


def table(services: Services) -> list[list[Any]]:
    """Rows for the panel from the memory manager's snapshot (with ``--ray``, every replica's)."""
    rows = cluster_view.snapshot(services.cluster) if services.cluster else services.memory.snapshot()
    return [[r["key"], r["device"], r["mb"], r["idle_s"], r["leases"]] for r in rows]


def summary(services: Services) -> str:
    """One line: device, memory used against the budget (with ``--ray``, each replica's)."""
    if services.cluster:
        return cluster_view.summary(services.cluster)
    m = services.memory
    used = m.used_bytes("cpu") / 1e9
    line = f"Compute device: **{m.device}** · RAM used by models: **{used:.2f} GB**"
    line += f" of {m.ram_budget_bytes / 1e9:.1f} GB"
    if m.compute_tier == "gpu":
        line += f" · GPU: **{m.used_bytes('gpu') / 1e9:.2f} GB** of {m.gpu_budget_bytes / 1e9:.1f} GB"
    return line


def is_operator(operators: Operators, request: gr.Request | None) -> bool:
    """Whether the visitor behind ``request`` operates the studio (no request: a call from Python, not a visitor)."""
    if request is None:
        return False
    client = request.client
    return operators.allows(request.username, client.host if client else "")


def build_models_panel(demo: gr.Blocks, services: Services, operators: Operators) -> None:
    """The panel; it refreshes every few seconds while open and after each Unload; its controls are operators'."""
    with gr.Accordion("Loaded models", open=False, elem_id="models-panel"):
        info = gr.Markdown(summary(services), elem_id="models-summary")
        grid = gr.Dataframe(
            value=table(services), headers=COLUMNS, interactive=False, elem_id="models-table", wrap=True
        )
        read_only = gr.Markdown(NOT_OPERATOR, visible=False, elem_id="models-read-only")
        with gr.Row(visible=False) as controls:
            choice = gr.Dropdown(
                choices=[r[0] for r in table(services)],
                label="Model",
                elem_id="models-choice",
                allow_custom_value=False,
                scale=3,
            )
            unload = gr.Button("Unload", variant="secondary", elem_id="models-unload", scale=1)
            unload_all = gr.Button("Unload all idle", elem_id="models-unload-all", scale=1)
        timer = gr.Timer(3.0)

    def refresh(current: str | None) -> tuple[Any, Any, Any]:
        rows = table(services)
        keys = [r[0] for r in rows]
        return summary(services), rows, gr.Dropdown(choices=keys, value=current if current in keys else None)

    def show_controls(request: gr.Request) -> tuple[Any, Any]:
        allowed = is_operator(operators, request)
        return gr.Row(visible=allowed), gr.Markdown(visible=not allowed)

    def do_unload(key: str | None, request: gr.Request) -> tuple[Any, Any, Any]:
        if not is_operator(operators, request):
            raise gr.Error(NOT_OPERATOR)
        if not key:
            raise gr.Error("Pick a loaded model first.")
        done = cluster_view.unload(services.cluster, key) if services.cluster else services.memory.unload(key)
        if not done:
            raise gr.Error(f"{key} is in use right now (or already unloaded); try again when it finishes.")
        gr.Info(f"Unloaded {key}")
        return refresh(None)

    def do_unload_all(request: gr.Request) -> tuple[Any, Any, Any]:
        if not is_operator(operators, request):
            raise gr.Error(NOT_OPERATOR)
        if services.cluster:
            cluster_view.unload_all(services.cluster)
        else:
            services.memory.evict_all()
        return refresh(None)

    demo.load(show_controls, None, [controls, read_only], api_visibility="private", queue=False)
    timer.tick(refresh, [choice], [info, grid, choice], api_visibility="private", queue=False, show_progress="hidden")
    unload.click(do_unload, [choice], [info, grid, choice], api_visibility="private")
    unload_all.click(do_unload_all, None, [info, grid, choice], api_visibility="private")
