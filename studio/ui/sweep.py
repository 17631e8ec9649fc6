"""Parameter sweep on every tab (AUTOMATIC1111's X/Y plot, generalised).

Pick a parameter for X (and optionally Y) and list values; the tab's current settings are the base, each cell
changes only X and Y, and every cell shares one seed so the difference is the parameter's. Cells go through the
engine like any request, so repeats come from the cache. Pictures (images, terrain previews, piano rolls) are
laid out as a labelled grid; texts side by side in a table; audio as a list of files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

import gradio as gr
from gradio.components import Component

from studio.engine import Result
from studio.params import SEED_MAX, ParamError, check_value, spec_of
from studio.services import Services
from studio.ui.common import run_request, skips
from studio.ui.handles import TabHandles

MAX_CELLS = 16
NONE = "(none)"
SKIP = {"seed", "history", "init_image", "mask_image", "melody_audio", "extend_from", "system_prompt"}


def sweepable(params_type: type) -> list[str]:
    """Fields a sweep can vary: numbers, choices, switches and the prompt (not uploads or histories)."""
    hints = get_type_hints(params_type)
    out = []
    for f in dataclasses.fields(params_type):
        kind = hints[f.name]
        if f.name in SKIP or kind in (bytes, bytes | None):
            continue
        if kind in (int, float, bool, str, int | None, float | None):
            out.append(f.name)
    return out


def parse_values(params_type: type, name: str, text: str) -> list[Any]:
    """The list of values for axis ``name``: comma-separated (``|``-separated for text fields)."""
    kind = get_type_hints(params_type)[name]
    spec = spec_of(params_type, name)
    if not text or not text.strip():
        raise ParamError(name, "give the values to sweep, e.g. 0.2, 0.5, 0.8")
    sep = "|" if kind is str and spec.choices is None else ","
    raw = [v.strip() for v in text.split(sep) if v.strip()]
    values: list[Any] = []
    for v in raw:
        if kind is bool:
            if v.lower() not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
                raise ParamError(name, f"{v!r} is not true or false")
            values.append(v.lower() in ("true", "yes", "on", "1"))
        else:  # numbers, choices and text are checked as the request will be: "inf" or "1e400" is a clear error
            values.append(check_value(name, v, spec, kind))
    return values


def grid_png(cells: list[list[Path | None]], xs: list[str], ys: list[str]) -> bytes:
    """A labelled contact sheet: one row per Y value, one column per X value."""
    from PIL import Image, ImageDraw

    tile = 192
    pad_top, pad_left = 28, (120 if ys != [""] else 0)
    w, h = pad_left + tile * len(xs), pad_top + tile * len(ys)
    sheet = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for j, x in enumerate(xs):
        draw.text((pad_left + j * tile + 6, 8), x[:30], fill=(20, 20, 20))
    for i, y in enumerate(ys):
        draw.text((6, pad_top + i * tile + tile // 2), y[:18], fill=(20, 20, 20))
        for j in range(len(xs)):
            p = cells[i][j]
            if p is None:
                continue
            img = Image.open(p).convert("RGB")
            img.thumbnail((tile - 4, tile - 4))
            sheet.paste(img, (pad_left + j * tile + 2, pad_top + i * tile + 2))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()


def picture_of(result: Result) -> Path | None:
    """The picture that stands for a result in a grid (an image, a terrain render or a piano roll: role "image")."""
    for a in result.by_role("image"):
        if a.name.lower().endswith(".png"):
            return result.paths[a.name]
    return None


@dataclass(frozen=True)
class Axes:
    """The sweep's axes: X's field and values, and Y's (``y`` None: one row, ``ys == [None]``)."""

    x: str
    xs: list[Any]
    y: str | None
    ys: list[Any]


def plan(services: Services, modality: str, base: dict[str, Any], axes: Axes) -> list[Any]:
    """The validated params of every cell, row by row (Y), each changing only X and Y of ``base``."""
    if len(axes.xs) * len(axes.ys) > MAX_CELLS:
        raise ParamError("sweep", f"{len(axes.xs)} × {len(axes.ys)} cells; at most {MAX_CELLS} are allowed")
    cells = []
    for y in axes.ys:
        for x in axes.xs:
            values = {**base, axes.x: x}
            if axes.y is not None:
                values[axes.y] = y
            cells.append(services.studio.check(modality, values))
    return cells


def text_table(results: list[Result], xl: list[str], yl: list[str]) -> str:
    """The cells' texts as a Markdown table: one row per Y label, one column per X label."""
    head = "| | " + " | ".join(xl) + " |\n|---|" + "---|" * len(xl) + "\n"
    rows = []
    for i, y in enumerate(yl):
        texts = [
            (results[i * len(xl) + j].text or "").replace("\n", "<br>").replace("|", "\\|") for j in range(len(xl))
        ]
        rows.append(f"| {y} | " + " | ".join(texts) + " |")
    return head + "\n".join(rows)


def write_grid(services: Services, modality: str, results: list[Result], xl: list[str], yl: list[str]) -> str | None:
    """The cells' pictures as a labelled grid PNG in the outputs folder (its path), or None when none has one."""
    cells = [[picture_of(results[i * len(xl) + j]) for j in range(len(xl))] for i in range(len(yl))]
    if all(c is None for row in cells for c in row):
        return None
    png = grid_png(cells, xl, yl)
    out = services.settings.outputs_dir / "sweeps" / f"{modality}-{hashlib.sha256(png).hexdigest()[:24]}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    return str(out)


@dataclass(frozen=True)
class _Controls:
    x_axis: gr.Dropdown
    x_vals: gr.Textbox
    y_axis: gr.Dropdown
    y_vals: gr.Textbox
    run: gr.Button
    stop: gr.Button


@dataclass(frozen=True)
class _Outputs:
    status: gr.Markdown
    grid: gr.Image  # the pictures' grid (every tab but Text)
    table: gr.Markdown  # the texts' table (Text)
    files: gr.File
    recipes: gr.JSON  # every cell's recipe: the History panel adds them

    def results(self) -> list[Component]:
        """What the sweep handler fills, in the order it yields."""
        return [self.grid, self.table, self.files, self.status, self.recipes]


def _controls(modality: str, axes: list[str], labels: dict[str, str]) -> _Controls:
    with gr.Row():
        x_axis = gr.Dropdown(
            [(labels[n], n) for n in axes], value=axes[0], label="X parameter", elem_id=f"{modality}-sweep-x"
        )
        x_vals = gr.Textbox(
            label="X values",
            placeholder="comma-separated; text values separated by |",
            elem_id=f"{modality}-sweep-xvals",
        )
    with gr.Row():
        y_axis = gr.Dropdown(
            [(NONE, NONE)] + [(labels[n], n) for n in axes],
            value=NONE,
            label="Y parameter",
            elem_id=f"{modality}-sweep-y",
        )
        y_vals = gr.Textbox(label="Y values", elem_id=f"{modality}-sweep-yvals")
    with gr.Row():
        run = gr.Button("Run sweep", variant="primary", elem_id=f"{modality}-sweep-run")
        stop = gr.Button("Stop", variant="stop", elem_id=f"{modality}-sweep-stop")
    return _Controls(x_axis, x_vals, y_axis, y_vals, run, stop)


def _outputs(modality: str) -> _Outputs:
    status = gr.Markdown("", elem_id=f"{modality}-sweep-status")
    grid = gr.Image(label="Grid", type="filepath", visible=modality != "text", elem_id=f"{modality}-sweep-grid")
    table = gr.Markdown("", visible=modality == "text", elem_id=f"{modality}-sweep-table")
    files = gr.File(label="Every cell's files", file_count="multiple", elem_id=f"{modality}-sweep-files")
    recipes = gr.JSON(visible=False)
    return _Outputs(status, grid, table, files, recipes)


def run_cells(services: Services, modality: str, cells: list[Any], progress: gr.Progress) -> Iterator[Any]:
    """Run each cell through the tab's request runner: yields a status line before each cell, None while one runs
    (so Stop ends the sweep inside a cell), and finally the list of results; a Stop yields no list."""
    results: list[Result] = []
    for k, params in enumerate(cells):
        progress((k, len(cells)), desc=f"cell {k + 1} of {len(cells)}")
        yield f"Running cell {k + 1} of {len(cells)}…"
        result: Result | None = None
        for item in run_request(services, modality, params):  # writes the result into the outputs folder
            if isinstance(item, Result):
                result = item
            else:
                yield None
        if result is None:
            return  # stopped
        results.append(result)
    yield results


def _sweep_body(services: Services, modality: str, params_type: type, handles: TabHandles) -> Any:
    """The sweep handler: ``(*widget values, *prepare state, x axis, x values, y axis, y values)``."""
    names = [n for n in handles.widgets if n in {f.name for f in dataclasses.fields(params_type)}]
    labels = {n: spec_of(params_type, n).label or n for n in sweepable(params_type)}
    prepare = handles.prepare

    def sweep(*args: Any, progress: gr.Progress = gr.Progress()) -> Any:
        base = dict(zip(names, args[: len(names)], strict=True))
        n_state = len(prepare.inputs) if prepare is not None else 0
        xa, xv, ya, yv = args[len(names) + n_state :]
        if prepare is not None:
            base = prepare.fn(base, *args[len(names) : len(names) + n_state])
        try:
            xs = parse_values(params_type, xa, xv)
            ys = parse_values(params_type, ya, yv) if ya and ya != NONE else [None]
            if base.get("seed") is None or int(base.get("seed", -1)) < 0:
                base["seed"] = secrets.randbelow(SEED_MAX)  # one seed for every cell
            cells = plan(services, modality, base, Axes(xa, xs, ya if ys != [None] else None, ys))
        except ParamError as exc:
            raise gr.Error(str(exc), title="Invalid sweep") from None
        results: list[Result] = []
        for step in run_cells(services, modality, cells, progress):
            if isinstance(step, list):
                results = step
            else:
                yield (*skips(3), step, gr.skip()) if step is not None else skips(5)
        if len(results) < len(cells):
            return  # stopped
        xl = [f"{labels[xa]} = {x}" for x in xs]
        yl = [f"{labels[ya]} = {y}" for y in ys] if ys != [None] else [""]
        all_files = [str(p) for r in results for p in r.paths.values() if p.suffix != ".json"]
        summary = f"{len(results)} cells · seed {base['seed']} · {sum(r.from_cache for r in results)} from cache"
        cell_recipes = [r.recipe for r in results]
        if modality == "text":
            yield None, text_table(results, xl, yl), all_files, summary, cell_recipes
        else:
            yield write_grid(services, modality, results, xl, yl), "", all_files, summary, cell_recipes

    return sweep


def build_sweep(services: Services, modality: str, handles: TabHandles) -> None:
    """The sweep accordion for ``modality``'s tab (called inside the tab, after the tab's own components); sets
    ``handles.sweep_recipes``, which the History listens to."""
    params_type = services.studio.params_type(modality)
    fields = {f.name for f in dataclasses.fields(params_type)}
    names = [n for n in handles.widgets if n in fields]
    axes = [n for n in sweepable(params_type) if n in names]
    if not axes:
        return
    labels = {n: spec_of(params_type, n).label or n for n in axes}
    with gr.Accordion("Sweep (X/Y plot)", open=False, elem_id=f"{modality}-sweep"):
        controls = _controls(modality, axes, labels)
        outputs = _outputs(modality)
    handles.sweep_recipes = outputs.recipes
    # The tab's own turn from widget values to request values (sliders left to the prompt, "0 = the model's size"),
    # with the session state it needs, so a cell is the request the tab's Generate would make.
    state = handles.prepare.inputs if handles.prepare is not None else []
    event = controls.run.click(
        _sweep_body(services, modality, params_type, handles),
        [
            *(handles.widgets[n] for n in names),
            *state,
            controls.x_axis,
            controls.x_vals,
            controls.y_axis,
            controls.y_vals,
        ],
        outputs.results(),
        api_visibility="private",
        concurrency_id=handles.queue,  # the tab's own queue: a sweep waits for its Generate runs
    )
    controls.stop.click(None, cancels=[event], api_visibility="private")
