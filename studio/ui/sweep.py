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
import threading
from pathlib import Path
from typing import Any, get_type_hints

import gradio as gr

from studio.engine import Result
from studio.generators.base import Cancelled
from studio.params import SEED_MAX, ParamError, check_value, spec_of
from studio.services import Services

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
    """The picture that stands for a result in a grid (image, terrain preview or piano roll)."""
    for role in ("image", "preview", "pianoroll"):
        for a in result.by_role(role):
            if a.name.lower().endswith(".png"):
                return result.paths[a.name]
    return None


def build_sweep(services: Services, modality: str, handles: dict[str, Any]) -> None:
    """The sweep accordion for ``modality``'s tab (called inside the tab, after the tab's own components)."""
    params_type = services.studio.params_type(modality)
    widgets: dict[str, Any] = handles.get("widgets", {})
    names = [n for n in widgets if n in {f.name for f in dataclasses.fields(params_type)}]
    axes = [n for n in sweepable(params_type) if n in names]
    if not axes:
        return
    labels = {n: spec_of(params_type, n).label or n for n in axes}
    with gr.Accordion("Sweep (X/Y plot)", open=False, elem_id=f"{modality}-sweep"):
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
        status = gr.Markdown("", elem_id=f"{modality}-sweep-status")
        grid = gr.Image(label="Grid", type="filepath", visible=modality != "text", elem_id=f"{modality}-sweep-grid")
        table = gr.Markdown("", visible=modality == "text", elem_id=f"{modality}-sweep-table")
        files = gr.File(label="Every cell's files", file_count="multiple", elem_id=f"{modality}-sweep-files")
        recipes = gr.JSON(visible=False)  # every cell's recipe: the History panel adds them
    handles["sweep_recipes"] = recipes

    # The tab's own turn from widget values to request values (sliders left to the prompt, "0 = the model's size"),
    # with the session state it needs, so a cell is the request the tab's Generate would make.
    prepare, prepare_inputs = handles.get("prepare", (None, []))

    def sweep(*args: Any, progress: gr.Progress = gr.Progress()) -> Any:
        base = dict(zip(names, args[: len(names)], strict=True))
        state = args[len(names) : len(names) + len(prepare_inputs)]
        xa, xv, ya, yv = args[len(names) + len(prepare_inputs) :]
        if prepare is not None:
            base = prepare(base, *state)
        try:
            xs = parse_values(params_type, xa, xv)
            ys = parse_values(params_type, ya, yv) if ya and ya != NONE else [None]
            if len(xs) * len(ys) > MAX_CELLS:
                raise ParamError("sweep", f"{len(xs)} × {len(ys)} cells; at most {MAX_CELLS} are allowed")
            if base.get("seed") is None or int(base.get("seed", -1)) < 0:
                base["seed"] = secrets.randbelow(SEED_MAX)
            cells_params = []
            for y in ys:
                for x in xs:
                    values = {**base, xa: x}
                    if y is not None:
                        values[ya] = y
                    cells_params.append(services.studio.check(modality, values))
        except ParamError as exc:
            raise gr.Error(str(exc), title="Invalid sweep") from None
        cancel = threading.Event()
        results: list[Result] = []
        hits = 0
        try:
            for k, p in enumerate(cells_params):
                progress((k, len(cells_params)), desc=f"cell {k + 1} of {len(cells_params)}")
                yield gr.skip(), gr.skip(), gr.skip(), f"Running cell {k + 1} of {len(cells_params)}…", gr.skip()
                r: Result | None = None
                for item in services.studio.stream(modality, p, cancel=cancel):
                    if isinstance(item, Result):
                        r = item
                    else:
                        yield (gr.skip(),) * 5  # lets Stop end the sweep inside a cell
                if r is None:
                    return
                r.write(services.outputs)
                hits += r.from_cache
                results.append(r)
        except Cancelled:
            return
        except (ParamError, ValueError, RuntimeError, OSError) as exc:
            raise gr.Error(f"sweep failed: {exc}", title="Sweep failed") from None
        finally:
            cancel.set()
        xl = [f"{labels[xa]} = {x}" for x in xs]
        yl = [f"{labels[ya]} = {y}" for y in ys] if ys != [None] else [""]
        all_files = [str(p) for r in results for p in r.paths.values() if p.suffix != ".json"]
        summary = f"{len(results)} cells · seed {base['seed']} · {hits} from cache"
        cell_recipes = [r.recipe for r in results]
        if modality == "text":
            head = "| | " + " | ".join(xl) + " |\n|---|" + "---|" * len(xl) + "\n"
            rows = []
            for i, y in enumerate(yl):
                texts = [
                    (results[i * len(xs) + j].text or "").replace("\n", "<br>").replace("|", "\\|")
                    for j in range(len(xs))
                ]
                rows.append(f"| {y} | " + " | ".join(texts) + " |")
            yield None, head + "\n".join(rows), all_files, summary, cell_recipes
            return
        cells = [[picture_of(results[i * len(xs) + j]) for j in range(len(xs))] for i in range(len(ys))]
        if all(c is None for row in cells for c in row):
            yield None, "", all_files, summary, cell_recipes
            return
        png = grid_png(cells, xl, yl)
        out = services.settings.outputs_dir / "sweeps" / f"{modality}-{hashlib.sha256(png).hexdigest()[:24]}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(png)
        yield str(out), "", all_files, summary, cell_recipes

    event = run.click(
        sweep,
        [*(widgets[n] for n in names), *prepare_inputs, x_axis, x_vals, y_axis, y_vals],
        [grid, table, files, status, recipes],
        api_visibility="private",
        concurrency_id=handles.get("queue", "gpu"),  # the tab's own queue: a sweep waits for its Generate runs
    )
    stop.click(None, cancels=[event], api_visibility="private")
