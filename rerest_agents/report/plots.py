"""The report's pictures, as `data:image/png;base64,...` URIs (matplotlib, Agg backend; Pillow for layouts).

Each function returns None when there is nothing to draw, so the page can say "not run yet".
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

#: Colours per eval variant (tab10), so a variant has the same colour in every chart.
VARIANT_COLOURS = {"base": "#7f7f7f", "selftrain": "#1f77b4", "rerest": "#d62728", "dpo": "#9467bd"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figure_uri(fig: Any) -> str:
    """A matplotlib figure as a PNG data URI (the figure is closed)."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def array_uri(array: Any) -> str:
    """An RGB uint8 array as a PNG data URI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _percent_axis(ax: Any) -> None:
    ax.set_ylim(0, 1.08)
    ax.yaxis.set_major_formatter(_pyplot().FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def eval_chart(rates: Mapping[tuple[str, int], float], variants: Sequence[str], labels: Mapping[str, str],
               intervals: Mapping[tuple[str, int], tuple[float, float]] | None = None) -> str | None:
    """Bar chart of test success per variant, with 95% interval whiskers (`intervals`: (low, high) per bar);
    grouped by round when there are several."""
    if not rates:
        return None
    plt = _pyplot()
    rounds = sorted({r for _, r in rates})
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    width = 0.8 / len(rounds)
    for j, rnd in enumerate(rounds):
        for i, variant in enumerate(variants):
            value = rates.get((variant, rnd))
            x = i + (j - (len(rounds) - 1) / 2) * width
            if value is None:
                ax.text(x, 0.02, "not run", ha="center", va="bottom", rotation=90, fontsize=8, color="#999999")
                continue
            ax.bar(x, value, width * 0.9, color=VARIANT_COLOURS.get(variant, "#17becf"), alpha=1.0 if j == len(rounds) - 1 else 0.55)
            low, high = (intervals or {}).get((variant, rnd), (value, value))
            if high > low:
                ax.errorbar(x, value, yerr=[[max(0.0, value - low)], [max(0.0, high - value)]], fmt="none", ecolor="#333333",
                            elinewidth=1, capsize=3)
            ax.text(x, max(value, high) + 0.015, f"{value:.0%}" + (f"\nr{rnd}" if len(rounds) > 1 else ""), ha="center",
                    va="bottom", fontsize=8)
    ax.set_xticks(range(len(variants)), [labels.get(v, v) for v in variants], fontsize=8)
    ax.set_ylabel("test success rate (95% CI)")
    _percent_axis(ax)
    ax.set_title("Evaluation on the test split", fontsize=10)
    return figure_uri(fig)


def rounds_chart(rows: Sequence[tuple[int, float | None, float | None, float | None]]) -> str | None:
    """Per round: sample success, repair rate (verified / failures) and success of the repaired episodes."""
    rows = [r for r in rows if any(v is not None for v in r[1:])]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(min(6.4, 3.0 + 1.4 * len(rows)), 3.2))
    series = (("sample success", "#1f77b4"), ("repair rate (verified / failures)", "#d62728"), ("repaired episodes' success", "#ff9896"))
    width = 0.8 / len(series)
    for j, (label, colour) in enumerate(series):
        xs, ys = [], []
        for i, row in enumerate(rows):
            if row[j + 1] is not None:
                xs.append(i + (j - 1) * width)
                ys.append(row[j + 1])
        if not xs:
            continue  # e.g. a run killed before reflection: no repair bars, no legend entry
        ax.bar(xs, ys, width * 0.9, color=colour, label=label)
        for x, y in zip(xs, ys):
            ax.text(x, y + 0.015, f"{y:.0%}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(rows)), [f"round {r[0]}" for r in rows])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    _percent_axis(ax)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title("Sampling and repair on the training tasks", fontsize=10)
    return figure_uri(fig)


def stages_chart(stages: Sequence[tuple[str, float, str]]) -> str | None:
    """Horizontal bars of stage wall time (name, seconds, status)."""
    if not stages:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 0.28 * len(stages) + 0.8))
    names = [s[0] for s in stages][::-1]
    seconds = [s[1] for s in stages][::-1]
    colours = ["#2ca02c" if s[2] == "done" else "#ff7f0e" for s in stages][::-1]
    ax.barh(names, seconds, color=colours)
    for y, value in enumerate(seconds):
        ax.text(value, y, f" {_duration(value)}", va="center", fontsize=8)
    ax.set_xlabel("seconds (orange: still running)")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlim(0, max(seconds) * 1.25 or 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title("Stage wall time", fontsize=10)
    return figure_uri(fig)


def loss_chart(curves: Mapping[str, Sequence[tuple[float, float]]]) -> str | None:
    """train/loss against step, one line per training stage (only stages with two or more points)."""
    curves = {k: v for k, v in curves.items() if len(v) >= 2}
    if not curves:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    for name, points in curves.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], label=name, linewidth=1.4)
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel("train/loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Training loss", fontsize=10)
    return figure_uri(fig)


def layout_uri(layout_text: str, caption: str | None = None, size: int = 220) -> str | None:
    """The layout an answer describes, drawn by `rerest_envs.layout.draw_layout`; None when no box can be read."""
    from rerest_envs.layout import draw_layout, parse_layout

    boxes = parse_layout(layout_text).boxes
    if not boxes:
        return None
    return array_uri(draw_layout(boxes, size, caption=caption))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"
