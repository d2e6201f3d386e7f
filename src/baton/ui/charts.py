"""SVG drawn on the server: the workflow graph coloured by step status, the timeline (Gantt)
of step attempts, and the bar charts of the Usage page.

Pictures carry classes, never inline styles or scripts, so the page's CSP holds; every text
is escaped here (the result is marked safe for the templates).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape as _escape

from markupsafe import Markup

from baton.engine.graph_svg import render_svg
from baton.engine.visualize import drawing
from baton.extras import MissingExtra
from baton.models import Workflow, WorkflowType
from baton.ui.views import Bar, StepView

_ROW = 18
_LABEL_W = 170
_PLOT_W = 760


def escape(text: str) -> str:
    return _escape(text, {'"': "&quot;", "'": "&#39;"})


def graph(workflow: Workflow, steps: Sequence[StepView], root: Path | None) -> Markup:
    """The workflow's graph, each step node carrying ``st-<status>`` (and its iteration count)."""
    by_id = {s.id: s for s in steps}
    try:
        picture = drawing(workflow, root=root)
    except MissingExtra as exc:
        return Markup(f'<p class="muted">{escape(str(exc))}</p>')
    loops = workflow.type is WorkflowType.LANGGRAPH
    for node in picture.nodes:
        view = by_id.get(node.id)
        if view is None or node.terminal:
            continue
        node.css_class = f"st-{view.status}"
        if loops and view.iteration > 1:
            node.subtitle = f"{node.subtitle} · iteration {view.iteration}".strip(" ·")
    return Markup(render_svg(picture, title=f"{workflow.id}: steps by status"))


def gantt(bars: Sequence[Bar], steps: Sequence[StepView], start: datetime, end: datetime) -> Markup:
    """Every attempt and wait on one clock: one row per step, time left to right."""
    order = [s.id for s in steps]
    rows = {step_id: i for i, step_id in enumerate(order)}
    for bar in bars:
        if bar.step_id not in rows:
            rows[bar.step_id] = len(rows)
            order.append(bar.step_id)
    span = max((end - start).total_seconds(), 0.001)
    height = _ROW * len(order) + 28
    width = _LABEL_W + _PLOT_W + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>Timeline of step attempts</title>'
    ]
    for tick in range(5):
        x = _LABEL_W + _PLOT_W * tick / 4
        out.append(
            f'<line class="tick" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 16}"/>'
            f'<text class="axis" x="{x:.1f}" y="{height - 4}" text-anchor="middle">'
            f"+{span * tick / 4:.1f}s</text>"
        )
    for step_id, i in rows.items():
        y = i * _ROW
        out.append(
            f'<text class="row-label" x="{_LABEL_W - 6}" y="{y + 13}" text-anchor="end">'
            f"{escape(step_id[:26])}</text>"
        )
    for bar in bars:
        y = rows[bar.step_id] * _ROW + 3
        finish = bar.end or end
        x0 = _LABEL_W + _PLOT_W * max(0.0, (bar.start - start).total_seconds()) / span
        x1 = _LABEL_W + _PLOT_W * max(0.0, (finish - start).total_seconds()) / span
        w = max(2.0, x1 - x0)
        classes = f"bar {bar.kind} {bar.outcome}".strip()
        seconds = max(0.0, (finish - bar.start).total_seconds())
        label = f"{bar.step_id}: {bar.label} ({seconds:.2f}s{', ' + bar.outcome if bar.outcome else ''})"
        out.append(
            f'<rect class="{classes}" data-step="{escape(bar.step_id)}" x="{x0:.1f}" y="{y}" '
            f'width="{w:.1f}" height="{_ROW - 6}" rx="2"><title>{escape(label)}</title></rect>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def bars(points: Sequence[tuple[str, float]], unit: str, title: str) -> Markup:
    """A horizontal bar chart of (label, value)."""
    top = max((v for _, v in points), default=0.0) or 1.0
    height = _ROW * len(points) + 8
    width = _LABEL_W + 420 + 110
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(points):
        y = i * _ROW + 2
        w = max(1.0, 420 * value / top)
        shown = f"${value:,.4f}" if unit == "usd" else f"{value:,.0f}"
        out.append(
            f'<text class="row-label" x="{_LABEL_W - 6}" y="{y + 12}" text-anchor="end">'
            f"{escape(label[:28])}</text>"
            f'<rect class="bar value" x="{_LABEL_W}" y="{y}" width="{w:.1f}" height="{_ROW - 5}" rx="2">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text class="axis" x="{_LABEL_W + w + 6:.1f}" y="{y + 12}">{escape(shown)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))
