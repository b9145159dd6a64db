"""The PNG figure of a :class:`specsample.compare.CompareReport`: acceptance vs bound.

One column of panels per temperature; along the x axis the numbers of drafts ``k``, with one
slot per verifier at each ``k``.

* Top row: each verifier's mean acceptance over the pairs (a point), the mean OT bound of
  its own draft law (a black bar above it, joined by a thin line: the gap), and across the
  group the mean bound for i.i.d. drafts (dashed) and for drafts without replacement
  (dotted).
* Bottom row: the gap ``bound - acceptance`` (mean over pairs) with its confidence interval
  over pairs as an error bar. The gap's interval is paired, so it is much narrower than
  that of the acceptance itself, whose spread over pairs is large (the table has both).

A hollow point means the acceptance was measured by sampling on some pairs (see the report).
matplotlib is imported here only (application layer), through its object-oriented API with
the Agg renderer: no display, no ``pyplot`` global state.
"""

from __future__ import annotations

import io

from specsample.compare import BOUND, LAW_LABELS, VERIFIER, CompareReport, Row

#: Width of the group of points at one ``k`` on the x axis.
GROUP_WIDTH = 0.72
#: Resolution of the PNG.
DPI = 120


def plot_compare(rep: CompareReport, *, title: str | None = None) -> bytes:
    """Draw ``rep`` (see the module docstring); return the PNG file's bytes.

    Parameters
    ----------
    rep : CompareReport
    title : str, optional
        Figure title (default: names the source).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    temps = rep.temperatures
    schemes = [s for s in rep.schemes if any(r.kind == VERIFIER and r.name == s for r in rep.rows)]
    slots = {s: i for i, s in enumerate(schemes)}
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
               "#17becf", "#bcbd22", "#7f7f7f"]
    colors = {s: palette[i % len(palette)] for i, s in enumerate(schemes)}
    step = GROUP_WIDTH / max(len(schemes), 1)

    fig = Figure(figsize=(4.8 * len(temps) + 0.9, 7.2), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(2, len(temps), sharex=True, sharey="row", squeeze=False,
                        gridspec_kw={"height_ratios": [3, 2]})
    any_measured = False
    for column, (t, count) in enumerate(zip(temps, rep.pair_counts, strict=True)):
        top, bottom = grid[0, column], grid[1, column]
        bottom.axhline(0.0, color="0.5", linewidth=0.8, zorder=1)
        for k in rep.ks:
            for r in (r for r in rep.rows if r.temperature == t and r.k == k):
                if r.kind == BOUND:
                    style = "--" if r.name == "iid" else ":"
                    top.hlines(r.value.mean, k - GROUP_WIDTH / 2 - 0.04, k + GROUP_WIDTH / 2 + 0.04,
                               colors="0.35", linestyles=style, linewidth=1.3, zorder=1)
                    continue
                x = k + (slots[r.name] - (len(schemes) - 1) / 2) * step
                _draw_verifier(top, bottom, x, r, colors[r.name], step)
                any_measured = any_measured or r.measured > 0
        label = "all pairs" if t is None else f"T = {t}"
        top.set_title(f"{label} ({count} pairs)", fontsize=11)
        bottom.set_xticks(list(rep.ks), [f"k = {k}" for k in rep.ks])
        bottom.set_xlim(min(rep.ks) - 0.5, max(rep.ks) + 0.5)
        for ax in (top, bottom):
            ax.grid(axis="y", color="0.9", linewidth=0.8)
            ax.set_axisbelow(True)
    grid[0, 0].set_ylabel("mean acceptance over pairs")
    grid[1, 0].set_ylabel(f"gap: own-law bound - acceptance\n(mean, {rep.confidence:.0%} CI over pairs)")

    handles = [Line2D([], [], color=colors[s], marker="o", linestyle="none", label=s) for s in schemes]
    handles += [
        Line2D([], [], color="black", marker="_", markersize=14, markeredgewidth=2.2,
               linestyle="none", label="OT bound of its own draft law"),
        Line2D([], [], color="0.35", linestyle="--", label=f"OT bound, {LAW_LABELS['iid']} drafts"),
        Line2D([], [], color="0.35", linestyle=":",
               label=f"OT bound, {LAW_LABELS['without_replacement']} drafts"),
    ]
    if any_measured:
        handles.append(Line2D([], [], color="0.3", marker="o", markerfacecolor="white",
                              linestyle="none", label="measured by sampling on some pairs"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
               fontsize=9, frameon=False)
    fig.suptitle(title or f"Acceptance vs optimal-transport bound ({rep.source} pairs)",
                 fontsize=12)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _draw_verifier(top, bottom, x: float, r: Row, color: str, step: float) -> None:
    """One verifier at ``x``: its mean and own-law bound on ``top``, its gap on ``bottom``."""
    face = "white" if r.measured else color
    if r.bound is not None:
        top.plot([x, x], [r.value.mean, r.bound.mean], color=color, linewidth=1.0, alpha=0.8,
                 zorder=2)
        top.plot([x], [r.bound.mean], marker="_", color="black", markersize=max(8.0, 60 * step),
                 markeredgewidth=2.2, linestyle="none", zorder=4)
    top.plot([x], [r.value.mean], marker="o", color=color, markerfacecolor=face, markersize=6,
             linestyle="none", zorder=3)
    if r.gap is not None:
        bottom.errorbar([x], [r.gap.mean], yerr=r.gap.half_width, fmt="o", color=color,
                        markerfacecolor=face, markersize=5, capsize=3, elinewidth=1.2, zorder=3)
