"""History and restore: every output of a browser session in a gallery that survives a reload; a click (or a dropped
studio output file) puts its settings back into its tab.

History lives in the visitor's own browser (``gr.BrowserState``, encrypted with a secret kept in the cache folder so
it also survives a server restart); nothing about one visitor is kept on the server side, so a shared studio keeps
each visitor's history to themselves. An entry is small: the recipe id, modality, prompt, params and a thumbnail
path; the outputs themselves come back instantly from the result cache when the restored settings are run again.
"""

from __future__ import annotations

import dataclasses
import io
import secrets
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

import gradio as gr

from studio import provenance
from studio.keys import BROWSER_STATE_FILE
from studio.params import ParamError, check_value, spec_of
from studio.services import Services
from studio.ui.common import auto_fields, picture_in
from studio.ui.handles import TabHandles

MAX_ENTRIES = 200


def browser_secret(services: Services) -> str:
    """The key ``gr.BrowserState`` encrypts the History with in the browser, made once and kept in the cache folder.

    Not a secret: Gradio hands it to every page (the encryption runs in the browser), so it only keeps the History
    from being plain text in localStorage and lets it survive a server restart. The History stays private because
    it lives in each visitor's own browser; the server trusts nothing in it (see ``entry_of`` and ``thumb_of``).
    """
    path = services.settings.cache_dir / BROWSER_STATE_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def card_png(modality: str, text: str) -> bytes:
    """A small picture standing for an output that has none (a text, say): modality and the first words."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (256, 256), (238, 240, 255))
    draw = ImageDraw.Draw(img)
    draw.text((12, 10), modality.upper(), fill=(70, 70, 160))
    body = "\n".join(textwrap.wrap(text.strip() or "(empty)", 36)[:16])
    draw.multiline_text((12, 34), body, fill=(30, 30, 30), spacing=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def card_name(services: Services, recipe_id: str) -> str:
    """The file name, under ``outputs/thumbs/``, of the card of a result that has no picture of its own."""
    return f"{services.outputs.tag(recipe_id)}.png"


def thumb_of(services: Services, entry: Any) -> Path | None:
    """The picture of a history entry, found by its modality and recipe id inside the outputs folder (an entry
    comes from the browser: whatever else it says, no path in it is ever used). None when it is gone."""
    if not isinstance(entry, dict):
        return None
    outputs = services.outputs
    picture = picture_in(outputs.files(entry.get("modality"), entry.get("id")))
    if picture is not None:
        return picture
    if outputs.folder(entry.get("modality"), entry.get("id")) is None:
        return None
    card = outputs.root / "thumbs" / card_name(services, entry["id"])
    return card if card.is_file() else None


def entry_of(services: Services, recipe: Any) -> dict[str, Any] | None:
    """A history entry for a recipe shown in a tab, or None when it names no result this studio wrote.

    The recipe comes back from the browser, so it is only data: the entry keeps its id, modality and settings
    (bounded), and the result must exist in the outputs folder under that id."""
    if not isinstance(recipe, dict):
        return None
    modality, rid = recipe.get("modality"), recipe.get("id")
    files = services.outputs.files(modality, rid)
    if not files or not isinstance(modality, str) or not isinstance(rid, str):
        return None
    params_type = services.studio.params_type(modality)
    params = allowed_values(params_type, recipe.get("params"))
    info = recipe.get("info")
    settings = allowed_values(params_type, info.get("settings") if isinstance(info, dict) else None)
    prompt = params.get("prompt")
    prompt = prompt[:200] if isinstance(prompt, str) else ""
    if picture_in(files) is None:
        services.outputs.extra("thumbs", card_name(services, rid), card_png(modality, prompt))
    created = recipe.get("created")
    return {
        "id": rid,
        "modality": modality,
        "prompt": prompt,
        "params": params,
        "info": {"settings": settings},
        "created": created if isinstance(created, str) else "",
    }


def add_entry(history: list[dict[str, Any]], entry: dict[str, Any] | None) -> list[dict[str, Any]]:
    """History with ``entry`` first (a repeat moves to the front), at most ``MAX_ENTRIES`` long."""
    history = [e for e in history if isinstance(e, dict)] if isinstance(history, list) else []
    if entry is None:
        return history
    kept = [e for e in history if e.get("id") != entry["id"]]
    return [entry, *kept][:MAX_ENTRIES]


def shown_entries(services: Services, history: Any) -> list[tuple[dict[str, Any], Path]]:
    """The well-formed entries of a history whose picture still exists, with that picture, in order."""
    shown = []
    for e in history if isinstance(history, list) else []:
        thumb = thumb_of(services, e)
        if thumb is not None:
            shown.append((e, thumb))
    return shown


def gallery_items(services: Services, history: Any) -> list[tuple[str, str]]:
    """(thumbnail, caption) pairs for the gallery; entries whose picture is gone (or that name none) are skipped."""
    items = []
    for e, thumb in shown_entries(services, history):
        prompt = e.get("prompt")
        items.append((str(thumb), f"{e['modality']} · {prompt[:60] if isinstance(prompt, str) else ''}"))
    return items


def restore_values(
    handles: dict[str, TabHandles], modality: str, params: dict[str, Any], settings: dict[str, Any] | None = None
) -> list[Any]:
    """Widget updates that put ``params`` into ``modality``'s tab (other tabs untouched), in ``all_widgets`` order."""
    updates: list[Any] = []
    for tab, h in handles.items():
        for name in h.widgets:
            value = params.get(name) if tab == modality else None
            if value is None and tab == modality and settings:
                value = settings.get(name)  # a setting the prompt chose: show what was used
            if tab != modality or value is None or isinstance(value, dict):
                updates.append(gr.skip())
            else:
                updates.append(value)
    return updates


def allowed_values(params_type: type, values: Any) -> dict[str, Any]:
    """The values of ``values`` (from a browser or a dropped file: only data) that ``params_type`` would accept,
    each checked against its field's declared range; anything else is left out, so a restore never sets a widget
    to a value of the wrong type or outside its range."""
    if not isinstance(values, dict):
        return {}
    hints = get_type_hints(params_type)
    kept: dict[str, Any] = {}
    for f in dataclasses.fields(params_type):
        if f.name in values and values[f.name] is not None:
            try:
                value = check_value(f.name, values[f.name], spec_of(params_type, f.name), hints[f.name])
            except ParamError:
                continue
            kept[f.name] = list(value) if isinstance(value, tuple) else value
    return kept


def set_by_user(params_type: type, params: dict[str, Any]) -> list[str]:
    """The prompt-following fields (``auto_fields``) that the recipe's request set itself: restored as "yours", so
    a rerun uses them rather than what the prompt would choose."""
    return sorted(n for n in auto_fields(params_type) if params.get(n) is not None)


def all_widgets(handles: dict[str, TabHandles]) -> list[Any]:
    """Every tab's parameter widgets, in a fixed order (tab, then field)."""
    return [w for h in handles.values() for w in h.widgets.values()]


def recipe_from_upload(path: str | None) -> dict[str, Any]:
    """The recipe inside a dropped studio output, or a ``gr.Error`` saying why there is none."""
    if not path:
        raise gr.Error("Drop a studio output (PNG, WAV, GLB, Markdown or recipe.json).")
    p = Path(path)
    if p.stat().st_size > 64 * 1024 * 1024:
        raise gr.Error("That file is over 64 MB; studio outputs carry their recipe in much smaller files.")
    try:
        return provenance.load_recipe(p.name, p.read_bytes())
    except provenance.UnreadableRecipe as exc:
        raise gr.Error(f"{p.name[:80]} is unreadable: not a studio output ({exc})") from None


@dataclass(frozen=True)
class HistoryHandles:
    """The History's state in the browser and its gallery (the page load fills one from the other)."""

    history: gr.BrowserState
    gallery: gr.Gallery


@dataclass(frozen=True)
class _Panel:
    gallery: gr.Gallery
    drop: gr.File
    clear: gr.Button


def _panel() -> _Panel:
    with gr.Accordion("History", open=True, elem_id="studio-history"):
        gallery = gr.Gallery(
            label="This browser's outputs (click one to restore its settings)",
            columns=8,
            fit_columns=False,  # one picture stays a thumbnail (Gradio 6 stretches it to the full width)
            height=220,
            allow_preview=False,
            elem_id="history-gallery",
            interactive=False,
        )
        with gr.Row():
            drop = gr.File(
                label="Drop a studio output here to restore its settings",
                file_count="single",
                file_types=[".png", ".wav", ".glb", ".md", ".json", ".txt"],
                height=100,
                elem_id="history-drop",
            )
            clear = gr.Button("Clear history", size="sm", elem_id="history-clear")
    return _Panel(gallery, drop, clear)


def _listen_results(services: Services, handles: dict[str, TabHandles], history: HistoryHandles) -> None:
    """Each result a tab shows (and each sweep's cells) joins the History, newest first."""
    outputs = [history.history, history.gallery]

    def on_result(recipe: dict[str, Any], hist: list[dict[str, Any]]) -> tuple[Any, Any]:
        entry = entry_of(services, recipe)
        if entry is None:
            return gr.skip(), gr.skip()
        hist = add_entry(hist, entry)
        return hist, gallery_items(services, hist)

    def on_sweep(recipes: list[dict[str, Any]], hist: list[dict[str, Any]]) -> tuple[Any, Any]:
        for recipe in reversed(recipes or []):  # the first cell ends up first
            hist = add_entry(hist, entry_of(services, recipe))
        return hist, gallery_items(services, hist)

    for h in handles.values():
        h.recipe.change(on_result, [h.recipe, history.history], outputs, api_visibility="private", queue=False)
    for h in handles.values():
        if h.sweep_recipes is not None:
            h.sweep_recipes.change(
                on_sweep, [h.sweep_recipes, history.history], outputs, api_visibility="private", queue=False
            )


def _restorer(services: Services, handles: dict[str, TabHandles], tabs: gr.Tabs) -> tuple[list[Any], Any]:
    """(the components a restore updates, ``restore(modality, params, settings)`` giving their updates)."""
    # Tabs whose sliders follow the prompt unless set ("overridden" state): a restore marks the ones the recipe set,
    # and the line saying which they are, where the tab has one.
    overrides = {m: h.overridden for m, h in handles.items() if h.overridden is not None}
    notes = {m: h.overrides_note for m, h in handles.items() if h.overrides_note is not None}
    targets = [tabs, *overrides.values(), *(n.box for n in notes.values()), *all_widgets(handles)]

    def restore(modality: Any, params: Any, settings: Any) -> list[Any]:
        if not isinstance(modality, str) or modality not in handles:
            raise gr.Error(f"this studio has no {str(modality)[:40]} tab")
        params_type = services.studio.params_type(modality)
        params, settings = allowed_values(params_type, params), allowed_values(params_type, settings)
        mine = set_by_user(params_type, params)
        marks = [mine if m == modality else gr.skip() for m in overrides]
        texts = [note.describe(mine) if m == modality else gr.skip() for m, note in notes.items()]
        return [gr.Tabs(selected=modality), *marks, *texts, *restore_values(handles, modality, params, settings)]

    return targets, restore


def _listen_restores(
    services: Services, handles: dict[str, TabHandles], tabs: gr.Tabs, panel: _Panel, history: gr.BrowserState
) -> None:
    """A click on a History picture, or a studio output dropped on the page, puts its settings back in its tab."""
    targets, restore = _restorer(services, handles, tabs)

    def on_select(hist: list[dict[str, Any]], evt: gr.SelectData) -> list[Any]:
        shown = [e for e, _ in shown_entries(services, hist)]
        index = evt.index if isinstance(evt.index, int) else -1
        if not 0 <= index < len(shown):
            return [gr.skip()] * len(targets)
        e = shown[index]
        params, info = e.get("params"), e.get("info")
        settings = info.get("settings") if isinstance(info, dict) else None
        return restore(e["modality"], params if isinstance(params, dict) else {}, settings)

    def on_drop(path: str | None) -> list[Any]:
        """Restore a dropped output's settings; the drop zone is emptied either way, ready for the next file."""
        try:
            recipe = recipe_from_upload(path)
            info = recipe.get("info")
            restored = restore(
                recipe.get("modality"), recipe.get("params"), info.get("settings") if isinstance(info, dict) else None
            )
        except gr.Error as exc:
            gr.Warning(str(exc.message))  # a message, not a failed event: the zone still empties itself
            return [None, *(gr.skip() for _ in targets)]
        return [None, *restored]

    panel.gallery.select(on_select, [history], targets, api_visibility="private", queue=False)
    panel.drop.upload(on_drop, [panel.drop], [panel.drop, *targets], api_visibility="private")


def build_history(services: Services, handles: dict[str, TabHandles], tabs: gr.Tabs) -> HistoryHandles:
    """The History panel: gallery, drop zone, clear button; and the listeners that feed and restore it."""
    history = gr.BrowserState([], storage_key="studio-history", secret=browser_secret(services))
    panel = _panel()
    hist = HistoryHandles(history, panel.gallery)
    _listen_results(services, handles, hist)
    _listen_restores(services, handles, tabs, panel, history)
    panel.clear.click(lambda: ([], []), None, [history, panel.gallery], api_visibility="private", queue=False)
    return hist


def load_gallery(services: Services) -> Any:
    """The page-load handler that fills the gallery from the History the browser sends."""

    def load(hist: Any) -> list[tuple[str, str]]:
        return gallery_items(services, hist)

    return load
