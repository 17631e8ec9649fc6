"""History and restore: every output of a browser session in a gallery that survives a reload; a click (or a dropped
studio output file) puts its settings back into its tab.

History lives in the visitor's own browser (``gr.BrowserState``, encrypted with a secret kept in the cache folder so
it also survives a server restart); nothing about one visitor is kept on the server side, so a shared studio keeps
each visitor's history to themselves. An entry is small: the recipe id, modality, prompt, params and a thumbnail
path; the outputs themselves come back instantly from the result cache when the restored settings are run again.
"""

from __future__ import annotations

import io
import secrets
import textwrap
from pathlib import Path
from typing import Any

import gradio as gr

from studio import provenance
from studio.services import Services
from studio.ui.common import auto_fields

MAX_ENTRIES = 200
THUMB_ROLES = ("image", "preview", "pianoroll")


def browser_secret(services: Services) -> str:
    """The secret that encrypts BrowserState, made once and kept in the cache folder."""
    path = services.settings.cache_dir / "browser-state-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def card_png(modality: str, text: str, out: Path) -> Path:
    """A small picture standing for an output that has none (a text, say): modality and the first words."""
    from PIL import Image, ImageDraw

    if out.exists():
        return out
    img = Image.new("RGB", (256, 256), (238, 240, 255))
    draw = ImageDraw.Draw(img)
    draw.text((12, 10), modality.upper(), fill=(70, 70, 160))
    body = "\n".join(textwrap.wrap(text.strip() or "(empty)", 36)[:16])
    draw.multiline_text((12, 34), body, fill=(30, 30, 30), spacing=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.getvalue())
    return out


def thumbnail(services: Services, recipe: dict[str, Any], files: list[Path]) -> str:
    """A picture for the gallery: the output's own image if it has one, else a card."""
    pngs = [p for p in files if p.suffix.lower() == ".png"]
    preferred = [p for p in pngs if any(r in p.stem for r in ("terrain", "image", "pianoroll", "grid"))]
    for p in preferred + pngs:
        if "heightmap" not in p.stem and "normal" not in p.stem and "splat" not in p.stem:
            return str(p)
    text = str(recipe.get("params", {}).get("prompt", ""))
    out = services.settings.outputs_dir / "thumbs" / f"{recipe['id'][:32]}.png"
    return str(card_png(recipe.get("modality", ""), text, out))


def entry_of(services: Services, recipe: dict[str, Any]) -> dict[str, Any] | None:
    """A history entry for a recipe shown in a tab (None for an empty or foreign value)."""
    if not isinstance(recipe, dict) or "id" not in recipe or "modality" not in recipe:
        return None
    folder = services.settings.outputs_dir / f"{recipe['modality']}-{recipe['id'][:32]}"
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    return {
        "id": recipe["id"],
        "modality": recipe["modality"],
        "prompt": str(recipe.get("params", {}).get("prompt", ""))[:200],
        "params": recipe.get("params", {}),
        "info": {"settings": recipe.get("info", {}).get("settings", {})},
        "thumb": thumbnail(services, recipe, files),
        "created": recipe.get("created", ""),
    }


def add_entry(history: list[dict[str, Any]], entry: dict[str, Any] | None) -> list[dict[str, Any]]:
    """History with ``entry`` first (a repeat moves to the front), at most ``MAX_ENTRIES`` long."""
    if entry is None:
        return history
    kept = [e for e in history or [] if e.get("id") != entry["id"]]
    return [entry, *kept][:MAX_ENTRIES]


def gallery_items(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(thumbnail, caption) pairs for the gallery; entries whose picture is gone are skipped."""
    items = []
    for e in history or []:
        if e.get("thumb") and Path(e["thumb"]).is_file():
            items.append((e["thumb"], f"{e['modality']} · {e['prompt'][:60]}"))
    return items


def restore_values(
    handles: dict[str, dict[str, Any]], modality: str, params: dict[str, Any], settings: dict[str, Any] | None = None
) -> list[Any]:
    """Widget updates that put ``params`` into ``modality``'s tab (other tabs untouched), in ``all_widgets`` order."""
    updates: list[Any] = []
    for tab, h in handles.items():
        for name in h.get("widgets", {}):
            value = params.get(name) if tab == modality else None
            if value is None and tab == modality and settings:
                value = settings.get(name)  # a setting the prompt chose: show what was used
            if tab != modality or value is None or isinstance(value, dict):
                updates.append(gr.skip())
            else:
                updates.append(value)
    return updates


def set_by_user(params_type: type, params: dict[str, Any]) -> list[str]:
    """The prompt-following fields (``auto_fields``) that the recipe's request set itself: restored as "yours", so
    a rerun uses them rather than what the prompt would choose."""
    return sorted(n for n in auto_fields(params_type) if params.get(n) is not None)


def all_widgets(handles: dict[str, dict[str, Any]]) -> list[Any]:
    """Every tab's parameter widgets, in a fixed order (tab, then field)."""
    return [w for h in handles.values() for w in h.get("widgets", {}).values()]


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


def build_history(services: Services, handles: dict[str, dict[str, Any]], tabs: gr.Tabs) -> dict[str, Any]:
    """The History panel: gallery, drop zone, clear button; and the listeners that feed and restore it."""
    history = gr.BrowserState([], storage_key="studio-history", secret=browser_secret(services))
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
    widgets = all_widgets(handles)
    modalities = list(handles)
    # Tabs whose sliders follow the prompt unless set ("overridden" state): a restore marks the ones the recipe set.
    overrides = {m: h["overridden"] for m, h in handles.items() if h.get("overridden") is not None}
    # ... and those that show which ones are set: (component, describe(list of names) -> text).
    notes = {m: h["overrides_note"] for m, h in handles.items() if h.get("overrides_note") is not None}
    targets = [tabs, *overrides.values(), *(c for c, _ in notes.values()), *widgets]

    def on_result(recipe: dict[str, Any], hist: list[dict[str, Any]]) -> tuple[Any, Any]:
        entry = entry_of(services, recipe)
        if entry is None:
            return gr.skip(), gr.skip()
        hist = add_entry(hist, entry)
        return hist, gallery_items(hist)

    for h in handles.values():
        if h.get("recipe") is not None:
            h["recipe"].change(
                on_result, [h["recipe"], history], [history, gallery], api_visibility="private", queue=False
            )

    def on_sweep(recipes: list[dict[str, Any]], hist: list[dict[str, Any]]) -> tuple[Any, Any]:
        for recipe in reversed(recipes or []):  # the first cell ends up first
            hist = add_entry(hist, entry_of(services, recipe))
        return hist, gallery_items(hist)

    for h in handles.values():
        if h.get("sweep_recipes") is not None:
            h["sweep_recipes"].change(
                on_sweep, [h["sweep_recipes"], history], [history, gallery], api_visibility="private", queue=False
            )

    def restore(modality: str, params: dict[str, Any], settings: dict[str, Any] | None) -> list[Any]:
        if modality not in modalities:
            raise gr.Error(f"this studio has no {modality} tab")
        mine = set_by_user(services.studio.params_type(modality), params)
        marks = [mine if m == modality else gr.skip() for m in overrides]
        texts = [describe(mine) if m == modality else gr.skip() for m, (_, describe) in notes.items()]
        return [gr.Tabs(selected=modality), *marks, *texts, *restore_values(handles, modality, params, settings)]

    def on_select(hist: list[dict[str, Any]], evt: gr.SelectData) -> list[Any]:
        shown = [e for e in hist or [] if e.get("thumb") and Path(e["thumb"]).is_file()]
        if evt.index is None or not 0 <= int(evt.index) < len(shown):
            return [gr.skip()] * len(targets)
        e = shown[int(evt.index)]
        return restore(e["modality"], e["params"], e.get("info", {}).get("settings"))

    def on_drop(path: str | None) -> list[Any]:
        """Restore a dropped output's settings; the drop zone is emptied either way, ready for the next file."""
        try:
            recipe = recipe_from_upload(path)
            restored = restore(recipe["modality"], recipe.get("params", {}), recipe.get("info", {}).get("settings"))
        except gr.Error as exc:
            gr.Warning(str(exc.message))  # a message, not a failed event: the zone still empties itself
            return [None, *(gr.skip() for _ in targets)]
        return [None, *restored]

    gallery.select(on_select, [history], targets, api_visibility="private", queue=False)
    drop.upload(on_drop, [drop], [drop, *targets], api_visibility="private")
    clear.click(lambda: ([], []), None, [history, gallery], api_visibility="private", queue=False)
    return {"history": history, "gallery": gallery}


def load_gallery(hist: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The gallery's items on page load (history comes from the browser)."""
    return gallery_items(hist)
