"""Draw a workflow graph as a standalone SVG picture, offline (no renderer, no network).

A small layered layout: back edges (loops) are set aside, every node goes on the layer
after its deepest predecessor, a few barycenter sweeps order each layer to reduce
crossings, and edges are drawn as curves; loop edges bend out to the right.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

_CHAR_W = 7.2
_PAD_X = 16.0
_NODE_H = 44.0
_TERMINAL_H = 30.0
_ROW_GAP = 56.0
_COL_GAP = 28.0
_MARGIN = 24.0
_LOOP_OFFSET = 40.0


@dataclass(slots=True)
class DrawNode:
    """One box: an id, its title, an optional second line, and whether it is START/END."""

    id: str
    title: str
    subtitle: str = ""
    terminal: bool = False
    css_class: str = ""  # extra classes of the node's <g> (the dashboard colours by status)
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0

    def measure(self) -> None:
        longest = max(len(self.title), int(len(self.subtitle) * 0.85))
        self.w = max(64.0, longest * _CHAR_W + 2 * _PAD_X)
        self.h = _TERMINAL_H if self.terminal else (_NODE_H if self.subtitle else _TERMINAL_H + 6)


@dataclass(slots=True)
class DrawEdge:
    """An arrow from ``source`` to ``target``: dashed when conditional, maybe labelled."""

    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass(slots=True)
class Drawing:
    """The nodes and edges to draw, in a stable order."""

    nodes: list[DrawNode] = field(default_factory=list)
    edges: list[DrawEdge] = field(default_factory=list)


def render_svg(drawing: Drawing, title: str = "") -> str:
    """The drawing as SVG text."""
    nodes = {n.id: n for n in drawing.nodes}
    edges = [e for e in drawing.edges if e.source in nodes and e.target in nodes]
    for node in drawing.nodes:
        node.measure()
    back = _back_edges(drawing.nodes, edges)
    layers = _layers(drawing.nodes, [e for i, e in enumerate(edges) if i not in back])
    _place(layers, nodes, edges)
    geometry = _geometry(nodes, edges, back)
    right = max([n.x + n.w for n in drawing.nodes] + [g[2] for g in geometry], default=0.0)
    width = right + _MARGIN
    height = max((n.y + n.h for n in drawing.nodes), default=0) + _MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/>'
        "</marker></defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
    ]
    labels: list[str] = []
    for edge, (path, (lx, ly), _) in zip(edges, geometry, strict=True):
        dash = ' stroke-dasharray="5 4"' if edge.dashed else ""
        out.append(
            f'<path class="edge" data-source="{escape(edge.source)}" '
            f'data-target="{escape(edge.target)}" d="{path}" fill="none" stroke="#555" '
            f'stroke-width="1.3"{dash} marker-end="url(#arrow)"/>'
        )
        if edge.label:
            text = edge.label if len(edge.label) <= 48 else edge.label[:45] + "..."
            w = len(text) * 6.2 + 8
            labels.append(
                f'<g class="label"><rect x="{lx - w / 2:.1f}" y="{ly - 9:.1f}" width="{w:.1f}" '
                f'height="16" rx="3" fill="#fffbe6" stroke="#e0d9b0"/>'
                f'<text x="{lx:.1f}" y="{ly + 3:.1f}" text-anchor="middle" font-size="10.5" '
                f'fill="#333">{escape(text)}</text></g>'
            )
    for node in drawing.nodes:
        out.append(_node_svg(node))
    out.extend(labels)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _node_svg(node: DrawNode) -> str:
    cx = node.x + node.w / 2
    if node.terminal:
        return (
            f'<g class="node terminal" data-id="{escape(node.id)}"><rect x="{node.x:.1f}" '
            f'y="{node.y:.1f}" width="{node.w:.1f}" height="{node.h:.1f}" rx="{node.h / 2:.1f}" '
            f'fill="#ece9ff" stroke="#6b5fd6"/><text x="{cx:.1f}" y="{node.y + node.h / 2 + 4:.1f}" '
            f'text-anchor="middle" fill="#333">{escape(node.title)}</text></g>'
        )
    classes = f"node {node.css_class}".strip()
    parts = [
        f'<g class="{escape(classes)}" data-id="{escape(node.id)}"><rect x="{node.x:.1f}" y="{node.y:.1f}" '
        f'width="{node.w:.1f}" height="{node.h:.1f}" rx="6" fill="#f2f0ff" stroke="#6b5fd6"/>'
    ]
    if node.subtitle:
        parts.append(
            f'<text x="{cx:.1f}" y="{node.y + 18:.1f}" text-anchor="middle" font-weight="bold" '
            f'fill="#222">{escape(node.title)}</text>'
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{node.y + 34:.1f}" text-anchor="middle" font-size="10.5" '
            f'fill="#666">{escape(node.subtitle)}</text>'
        )
    else:
        parts.append(
            f'<text x="{cx:.1f}" y="{node.y + node.h / 2 + 4:.1f}" text-anchor="middle" '
            f'font-weight="bold" fill="#222">{escape(node.title)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _back_edges(nodes: list[DrawNode], edges: list[DrawEdge]) -> set[int]:
    """Indexes of the edges that close a loop (found by a depth-first walk in node order)."""
    out: dict[str, list[tuple[int, str]]] = {n.id: [] for n in nodes}
    for i, e in enumerate(edges):
        out[e.source].append((i, e.target))
    state: dict[str, int] = {}
    back: set[int] = set()
    for root in (n.id for n in nodes):
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, pos = stack.pop()
            if pos < len(out[node]):
                stack.append((node, pos + 1))
                index, nxt = out[node][pos]
                if state.get(nxt) == 1:
                    back.add(index)
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
    return back


def _layers(nodes: list[DrawNode], forward: list[DrawEdge]) -> list[list[str]]:
    preds: dict[str, list[str]] = {n.id: [] for n in nodes}
    succs: dict[str, list[str]] = {n.id: [] for n in nodes}
    for e in forward:
        if e.source != e.target:
            preds[e.target].append(e.source)
            succs[e.source].append(e.target)
    depth: dict[str, int] = {}
    pending = {n: len(p) for n, p in preds.items()}
    queue = deque(n.id for n in nodes if not preds[n.id])
    while queue:
        node = queue.popleft()
        depth[node] = max((depth[p] + 1 for p in preds[node]), default=0)
        for nxt in succs[node]:
            pending[nxt] -= 1
            if pending[nxt] == 0:
                queue.append(nxt)
    for n in nodes:  # anything left (unreachable cycles) goes last
        depth.setdefault(n.id, max(depth.values(), default=-1) + 1)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for n in nodes:
        layers[depth[n.id]].append(n.id)
    return layers


def _place(layers: list[list[str]], nodes: dict[str, DrawNode], edges: list[DrawEdge]) -> None:
    ups: dict[str, list[str]] = {n: [] for n in nodes}
    downs: dict[str, list[str]] = {n: [] for n in nodes}
    for e in edges:
        ups[e.target].append(e.source)
        downs[e.source].append(e.target)
    position = {n: float(i) for layer in layers for i, n in enumerate(layer)}

    def sweep(order: range, neighbours: dict[str, list[str]]) -> None:
        for li in order:
            layer = layers[li]

            def centre(n: str, layer: list[str] = layer) -> float:
                near = [position[m] for m in neighbours[n] if m in position and m not in layer]
                return sum(near) / len(near) if near else position[n]

            layer.sort(key=lambda n: (centre(n), position[n]))
            for i, n in enumerate(layer):
                position[n] = float(i)

    for _ in range(4):
        sweep(range(1, len(layers)), ups)
        sweep(range(len(layers) - 2, -1, -1), downs)
    widths = [sum(nodes[n].w for n in layer) + _COL_GAP * (len(layer) - 1) for layer in layers]
    widest = max(widths, default=0.0)
    y = _MARGIN
    for layer, width in zip(layers, widths, strict=True):
        x = _MARGIN + (widest - width) / 2
        tallest = max((nodes[n].h for n in layer), default=0.0)
        for n in layer:
            node = nodes[n]
            node.x, node.y = x, y + (tallest - node.h) / 2
            x += node.w + _COL_GAP
        y += tallest + _ROW_GAP


def _geometry(
    nodes: dict[str, DrawNode], edges: list[DrawEdge], back: set[int]
) -> list[tuple[str, tuple[float, float], float]]:
    """Per edge: SVG path data, label position, and the rightmost x it reaches.

    Forward edges leave from the bottom and enter at the top, their ends spread along the
    box; loop edges leave right and come back outside every box they pass, one lane each.
    """
    outs: dict[str, list[int]] = {n: [] for n in nodes}
    ins: dict[str, list[int]] = {n: [] for n in nodes}
    for i, e in enumerate(edges):
        if i not in back and e.source != e.target:
            outs[e.source].append(i)
            ins[e.target].append(i)
    start_x: dict[int, float] = {}
    end_x: dict[int, float] = {}
    for node_id, idxs in outs.items():
        a = nodes[node_id]
        for k, i in enumerate(sorted(idxs, key=lambda i: nodes[edges[i].target].x)):
            start_x[i] = a.x + a.w * (k + 1) / (len(idxs) + 1)
    for node_id, idxs in ins.items():
        b = nodes[node_id]
        for k, i in enumerate(sorted(idxs, key=lambda i: nodes[edges[i].source].x)):
            end_x[i] = b.x + b.w * (k + 1) / (len(idxs) + 1)
    lanes = 0
    out: list[tuple[str, tuple[float, float], float]] = []
    for i, edge in enumerate(edges):
        a, b = nodes[edge.source], nodes[edge.target]
        if a is b:
            x, y = a.x + a.w, a.y + a.h / 2
            bend = x + _LOOP_OFFSET
            out.append(
                (
                    f"M {x:.1f} {y - 8:.1f} C {bend:.1f} {y - 26:.1f} {bend:.1f} {y + 26:.1f} "
                    f"{x:.1f} {y + 8:.1f}",
                    (bend, y),
                    bend + 60,
                )
            )
        elif i in back:
            top, bottom = min(a.y, b.y), max(a.y + a.h, b.y + b.h)
            passed = [n for n in nodes.values() if n.y + n.h >= top and n.y <= bottom]
            row = [n for n in nodes.values() if n.y == a.y]
            # go round the left when the source is the leftmost box of its row, else the right
            left = a.x <= min(n.x for n in row) and len(row) > 1
            lanes += 1
            if left:
                bend = max(4.0, min(n.x for n in passed) - _LOOP_OFFSET * 0.6 * lanes)
                x1, x2 = a.x, b.x
            else:
                bend = max(n.x + n.w for n in passed) + _LOOP_OFFSET * 0.6 * lanes
                x1, x2 = a.x + a.w, b.x + b.w
            y1, y2 = a.y + a.h / 2, b.y + b.h / 2
            out.append(
                (
                    f"M {x1:.1f} {y1:.1f} C {bend:.1f} {y1:.1f} {bend:.1f} {y2:.1f} {x2:.1f} {y2:.1f}",
                    (0.25 * x1 + 0.75 * bend, (y1 + y2) / 2),
                    bend + 60,
                )
            )
        else:
            x1, y1 = start_x[i], a.y + a.h
            x2, y2 = end_x[i], b.y
            mid = (y1 + y2) / 2
            # the label sits at t=0.5 of the cubic: x halfway, y at the middle
            out.append(
                (
                    f"M {x1:.1f} {y1:.1f} C {x1:.1f} {mid:.1f} {x2:.1f} {mid:.1f} {x2:.1f} {y2:.1f}",
                    ((x1 + x2) / 2, mid),
                    max(x1, x2),
                )
            )
    return out


__all__ = ["DrawEdge", "DrawNode", "Drawing", "render_svg"]
