"""Loss curves as a picture: one panel per logged term, side by side, the held-out validation loss in the last.

The Train tab shows it live and the model card embeds it (``loss_curves.png``). matplotlib's Agg backend draws
off screen; each call makes its own figure (pyplot's global state is not used).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any


def series(rows: Sequence[dict[str, Any]], terms: Sequence[str]) -> dict[str, tuple[list[int], list[float]]]:
    """(steps, values) of each term, and of "val_loss" where it was measured."""
    out: dict[str, tuple[list[int], list[float]]] = {}
    for name in (*terms, "val_loss"):
        points = [(int(r["step"]), float(r[name])) for r in rows if name in r]
        if points:
            out[name] = ([p[0] for p in points], [p[1] for p in points])
    return out


def curves_png(rows: Sequence[dict[str, Any]], terms: Sequence[str], title: str = "") -> bytes:
    """PNG bytes of the loss curves (an empty chart saying "no steps yet" before the first logged row)."""
    from matplotlib.figure import Figure

    data = series(rows, terms)
    panels = list(data) or ["loss"]
    fig = Figure(figsize=(2.8 * len(panels) + 0.4, 2.6), dpi=100, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, name in zip(axes, panels, strict=True):
        if name in data:
            steps, values = data[name]
            colour = "tab:orange" if name == "val_loss" else "tab:blue"
            ax.plot(steps, values, color=colour, linewidth=1.2, marker="o" if len(steps) < 3 else None)
        else:
            ax.text(0.5, 0.5, "no steps yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("validation loss (held out)" if name == "val_loss" else name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
