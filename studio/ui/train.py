"""The Train tab: pictures in (files, a zip, a server folder under ``--data-dir``, or example data), a data check
before anything runs, a technique and its settings, then a background run to watch: live loss curves, steps/s,
ETA and samples every N steps. Closing the browser does not stop a run; reopening the tab shows it.

Runs go through the studio's one job runner (``studio/training/jobs.py``): one at a time on the device, the others
waiting in order. Train re-checks the same inputs, so what is trained is what the check showed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.components import Component

from studio.params import ParamError, check_params, defaults_of, spec_of
from studio.server.operators import Operators
from studio.services import Services
from studio.training.data_check import DataError, DataReport, check_folder, check_uploads
from studio.training.examples import EXAMPLES, example_data
from studio.training.jobs import Jobs
from studio.training.params import BUILTIN_BASES, DEFAULT_LR, TrainParams
from studio.training.preview import augmented_grid, curves_image, describe, status_text
from studio.ui.common import widget_for

FIELDS = [f.name for f in dataclasses.fields(TrainParams)]
NO_EXAMPLE = "none (use my pictures)"
POLL_S = 2.0


@dataclass(frozen=True)
class _Data:
    files: gr.File
    folder: gr.Textbox
    example: gr.Dropdown
    limit: gr.Slider
    check: gr.Button
    summary: gr.Markdown
    refused: gr.Dataframe
    grid: gr.Image

    def inputs(self) -> list[Component]:
        return [self.files, self.folder, self.example, self.limit]


@dataclass(frozen=True)
class _Watch:
    run: gr.Dropdown
    status: gr.Markdown
    curves: gr.Image
    samples: gr.Image
    seen: gr.State  # (run, logged rows, sample sheets) last shown, so unchanged pictures are not sent again
    timer: gr.Timer


def _jobs(services: Services) -> Jobs:
    if services.jobs is None:
        raise gr.Error("this studio was started without training jobs")
    return services.jobs


def _params(values: dict[str, Any]) -> TrainParams:
    try:
        return check_params(TrainParams, values)
    except ParamError as exc:
        raise gr.Error(str(exc), title="Invalid input") from None


def read_data(services: Services, files: Any, folder: str, example: str, limit: float) -> DataReport:
    """The data check of whichever source the visitor gave (example data, a server folder, or uploads)."""
    try:
        if example and example != NO_EXAMPLE:
            return example_data(example, int(limit))
        if folder and folder.strip():
            return check_folder(folder.strip(), list(services.settings.data_dirs))
        paths = [Path(str(p)) for p in (files or []) if p]
        if not paths:
            raise DataError("drop pictures or a zip, name a server folder, or pick example data first")
        return check_uploads([(p.name, p) for p in paths])
    except DataError as exc:
        raise gr.Error(str(exc), title="Data") from None


def _data_section(services: Services) -> _Data:
    gr.Markdown("### 1 · Data")
    files = gr.File(
        label="Pictures, caption files (.txt, captions.txt, metadata.jsonl) or a zip",
        file_count="multiple",
        type="filepath",
        elem_id="train-files",
    )
    roots = services.settings.data_dirs
    folder = gr.Textbox(
        label="…or a folder on the server",
        visible=bool(roots),
        elem_id="train-folder",
        info="inside: " + ", ".join(str(r) for r in roots) if roots else "",
    )
    with gr.Row():
        example = gr.Dropdown(
            [NO_EXAMPLE, *EXAMPLES], value=NO_EXAMPLE, label="…or example data", elem_id="train-example"
        )
        limit = gr.Slider(8, 5000, value=500, step=1, label="Example pictures", elem_id="train-example-limit")
    check = gr.Button("Check data", elem_id="train-check")
    summary = gr.Markdown("", elem_id="train-data-summary")
    refused = gr.Dataframe(
        headers=["file", "why it is refused"], interactive=False, elem_id="train-refused", wrap=True, max_height=200
    )
    grid = gr.Image(
        label="As the model will see them (preprocessed + augmented)",
        interactive=False,
        type="pil",
        height=180,
        elem_id="train-grid",
    )
    return _Data(files, folder, example, limit, check, summary, refused, grid)


def _settings_section() -> dict[str, Component]:
    gr.Markdown("### 2 · Technique and settings")
    widgets: dict[str, Component] = {}
    with gr.Row():
        for n in ("name", "technique", "base"):
            widgets[n] = widget_for(TrainParams, n)
    with gr.Row():
        widgets["optimizer"] = widget_for(TrainParams, "optimizer")
        widgets["lr"] = gr.Number(
            value=1e-3, label="Learning rate", minimum=1e-6, maximum=1.0, elem_id="trainparams-lr"
        )
        widgets["schedule"] = widget_for(TrainParams, "schedule")
        widgets["warmup_steps"] = gr.Number(
            value=0, precision=0, minimum=0, label="Warm-up steps", elem_id="trainparams-warmup_steps"
        )
    with gr.Row():
        for n in ("steps", "batch_size", "seed"):
            widgets[n] = gr.Number(
                value=defaults_of(TrainParams)[n],
                precision=0,
                label=spec_of(TrainParams, n).label,
                elem_id=f"trainparams-{n}",
            )
    with gr.Row():
        for n in ("flips", "crops", "jitter"):
            widgets[n] = widget_for(TrainParams, n)
    with gr.Accordion("More settings", open=False):
        for n in ("sample_every", "checkpoint_every", "val_fraction", "licence", "sample_prompt"):
            widgets[n] = widget_for(TrainParams, n)
    return widgets


def _watch_section(services: Services) -> tuple[_Watch, gr.Button, gr.Button, gr.Button]:
    gr.Markdown("### 3 · Train and watch")
    with gr.Row():
        train = gr.Button("Train", variant="primary", elem_id="train-start")
        stop = gr.Button("Stop", variant="stop", elem_id="train-stop")
        resume = gr.Button("Resume", elem_id="train-resume")
    names = [i.name for i in _jobs(services).runs()]
    run = gr.Dropdown(
        names,
        value=names[0] if names else None,
        label="Run",
        elem_id="train-run",
        info="runs go on when the browser closes; one at a time on this device",
    )
    status = gr.Markdown("", elem_id="train-status")
    gr.Markdown("Loss curves: each term of the technique, and the held-out validation loss")
    curves = gr.Image(show_label=False, type="pil", interactive=False, elem_id="train-curves")
    samples = gr.Image(
        label="Latest samples (fixed prompt, seeds 0-7)",
        type="pil",
        interactive=False,
        height=140,
        elem_id="train-samples",
    )
    watch = _Watch(run, status, curves, samples, gr.State(None), gr.Timer(POLL_S))
    return watch, train, stop, resume


def _refresh(services: Services, name: str | None, seen: Any) -> tuple[Any, ...]:
    """The watched run's status, and its curves and samples when they changed since ``seen``."""
    from PIL import Image

    jobs = _jobs(services)
    if not name:
        return "No run yet: check your data, then press Train.", gr.skip(), gr.skip(), seen
    try:
        info = jobs.info(name)
    except ParamError as exc:
        return str(exc), None, None, None
    run = jobs.folder(name)
    rows, sheets = run.metrics(), run.sample_paths()
    now = [name, len(rows), len(sheets)]
    if seen == now:
        return status_text(info), gr.skip(), gr.skip(), seen
    curves = curves_image(rows, info.technique)
    sample = None
    if sheets:
        with Image.open(sheets[-1]) as im:
            sample = im.convert("RGB")
    return status_text(info), curves, sample, now


def _runs_menu(services: Services, value: str | None) -> Any:
    names = [i.name for i in _jobs(services).runs()]
    return gr.Dropdown(choices=names, value=value if value in names else (names[0] if names else None))


def _allowed(operators: Operators, request: gr.Request | None) -> None:
    """Raise a clear error unless this visitor may start, stop or resume training runs (``--trainers``)."""
    client = getattr(request, "client", None)
    if not operators.may_train(getattr(request, "username", None), client.host if client else ""):
        raise gr.Error("training is for the studio's operators here (see --trainers)", title="Not allowed")


def _listen(
    services: Services,
    data: _Data,
    widgets: dict[str, Component],
    watch: _Watch,
    buttons: tuple[gr.Button, gr.Button, gr.Button],
    operators: Operators,
) -> None:
    train, stop, resume = buttons
    names = list(widgets)

    def check(files: Any, folder: str, example: str, limit: float, *values: Any) -> tuple[Any, ...]:
        report = read_data(services, files, folder, example, limit)
        params = _params({**dict(zip(names, values, strict=True)), "name": "preview"})
        rows = [[r.name, r.reason] for r in report.refused] or None
        return describe(report), rows, augmented_grid(report, params)

    def start(
        request: gr.Request, files: Any, folder: str, example: str, limit: float, *values: Any
    ) -> tuple[Any, ...]:
        _allowed(operators, request)
        params = _params(dict(zip(names, values, strict=True)))
        report = read_data(services, files, folder, example, limit)
        if not params.licence and example and example != NO_EXAMPLE:
            params = dataclasses.replace(params, licence=EXAMPLES[example])
        try:
            _jobs(services).create(params, report)
        except ParamError as exc:
            raise gr.Error(str(exc), title="Cannot start") from None
        gr.Info(f"Run {params.name} queued")
        return _runs_menu(services, params.name), None

    def act(verb: str) -> Any:
        def handler(request: gr.Request, name: str | None) -> tuple[Any, ...]:
            _allowed(operators, request)
            try:
                getattr(_jobs(services), verb)(name or "")
            except ParamError as exc:
                raise gr.Error(str(exc), title=verb.capitalize()) from None
            return _runs_menu(services, name), None

        return handler

    def technique_defaults(technique: str) -> tuple[Any, Any]:
        has_base = technique in BUILTIN_BASES and technique != "diffusion"
        base = gr.Dropdown(value="builtin" if technique == "diffusion" else "scratch", interactive=has_base)
        return gr.Number(value=DEFAULT_LR.get(technique, 1e-3)), base

    technique = widgets["technique"]
    assert isinstance(technique, gr.Dropdown)
    technique.change(technique_defaults, technique, [widgets["lr"], widgets["base"]], api_visibility="private")
    inputs = [*data.inputs(), *(widgets[n] for n in names)]
    data.check.click(check, inputs, [data.summary, data.refused, data.grid], api_name="train_check")
    train.click(start, inputs, [watch.run, watch.seen], api_name="train_start")
    stop.click(act("stop"), [watch.run], [watch.run, watch.seen], api_name="train_stop")
    resume.click(act("resume"), [watch.run], [watch.run, watch.seen], api_name="train_resume")
    outs = [watch.status, watch.curves, watch.samples, watch.seen]
    refresh = lambda name, seen: _refresh(services, name, seen)  # noqa: E731
    watch.timer.tick(
        refresh, [watch.run, watch.seen], outs, api_visibility="private", queue=False, show_progress="hidden"
    )
    watch.run.change(refresh, [watch.run, gr.State(None)], outs, api_visibility="private", queue=False)


def build_train_tab(services: Services, demo: gr.Blocks, operators: Operators | None = None) -> None:
    """Build the tab's sections and listeners; the runs menu is refreshed whenever a page opens. Who may start, stop
    and resume runs is ``operators.may_train`` (default: a local visitor of a studio without login or share link)."""
    operators = operators or Operators(local_visitor=True)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=340):
            data = _data_section(services)
        with gr.Column(scale=3, min_width=340):
            widgets = _settings_section()
            watch, train, stop, resume = _watch_section(services)
    _listen(services, data, widgets, watch, (train, stop, resume), operators)
    demo.load(lambda v: _runs_menu(services, v), [watch.run], [watch.run], api_visibility="private", queue=False)
