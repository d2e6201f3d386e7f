"""`baton workflows graph`: LangGraph's Mermaid for langgraph workflows, and an SVG picture."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from baton.engine.visualize import mermaid, to_svg
from baton.models import Workflow, WorkflowConfig

SVG = "{http://www.w3.org/2000/svg}"

LOOP: dict[str, Any] = {
    "type": "langgraph",
    "steps": [
        {"id": "implement", "agent_id": "bot", "prompt_template": "i"},
        {
            "id": "test",
            "agent_id": "bot",
            "prompt_template": "t",
            "next": [{"when": "outputs.test.text == 'green'", "goto": "deploy"}, {"goto": "fix"}],
        },
        {"id": "fix", "agent_id": "bot", "prompt_template": "f", "next": "test"},
        {"id": "deploy", "agent_id": "ops", "prompt_template": "d", "approval": {"message": "ok?"}},
    ],
}
DAG: dict[str, Any] = {
    "type": "simple",
    "steps": [
        {"id": "a", "agent_id": "bot", "prompt_template": "a"},
        {"id": "b", "agent_id": "bot", "prompt_template": "b", "dependencies": ["a"]},
        {
            "id": "c",
            "agent_id": "bot",
            "prompt_template": "c",
            "dependencies": ["a"],
            "condition": "succeeded('a')",
        },
        {"id": "d", "agent_id": "bot", "prompt_template": "d", "dependencies": ["b", "c"]},
    ],
}


def _wf(name: str, data: dict[str, Any]) -> Workflow:
    return Workflow.from_config(name, WorkflowConfig.model_validate(data))


def _svg(wf: Workflow) -> tuple[dict[str, str], list[tuple[str, str, bool]], list[str]]:
    root = ET.fromstring(to_svg(wf))
    assert root.tag == f"{SVG}svg"
    nodes = {
        g.get("data-id", ""): "".join(g.itertext())
        for g in root.iter(f"{SVG}g")
        if "node" in (g.get("class") or "")
    }
    edges = [
        (p.get("data-source", ""), p.get("data-target", ""), "stroke-dasharray" in p.attrib)
        for p in root.iter(f"{SVG}path")
        if p.get("class") == "edge"
    ]
    labels = ["".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "label"]
    return nodes, edges, labels


def test_langgraph_mermaid_is_langgraphs_own_drawing() -> None:
    text = mermaid(_wf("loop", LOOP))
    assert text.lstrip().startswith("---") and "graph TD;" in text
    assert "__start__ --> implement;" in text
    assert "implement --> test;" in text and "fix --> test;" in text
    assert "test -. &nbsp;outputs.test.text == 'green'&nbsp; .-> deploy;" in text
    assert "test -.-> fix;" in text
    assert "deploy --> __end__;" in text


def test_simple_mermaid_is_a_flowchart() -> None:
    text = mermaid(_wf("dag", DAG))
    assert text.startswith("flowchart TD")
    assert "s_a -->|succeeded('a')| s_c" in text and "s_c --> s_d" in text


def test_svg_of_a_loop() -> None:
    nodes, edges, labels = _svg(_wf("loop", LOOP))
    assert set(nodes) == {"__start__", "implement", "test", "fix", "deploy", "__end__"}
    assert "ops · approval" in nodes["deploy"]
    assert set(edges) == {
        ("__start__", "implement", False),
        ("implement", "test", False),
        ("test", "deploy", True),
        ("test", "fix", True),
        ("fix", "test", False),
        ("deploy", "__end__", False),
    }
    assert labels == ["outputs.test.text == 'green'"]


def test_svg_of_a_dag() -> None:
    nodes, edges, labels = _svg(_wf("dag", DAG))
    assert set(nodes) == {"__start__", "a", "b", "c", "d", "__end__"}
    assert ("a", "c", True) in edges and ("b", "d", False) in edges and ("d", "__end__", False) in edges
    assert labels == ["succeeded('a')"]


def test_cli_prints_mermaid_and_writes_svg(tmp_path: Path) -> None:
    (tmp_path / "baton.yaml").write_text("""
version: "1.0.0"
agents:
  bot: {provider: scripted, model: echo, capabilities: [test]}
workflows:
  loop:
    type: langgraph
    steps:
      - {id: test, agent_id: bot, prompt_template: t, next: [{when: "failed('test')", goto: fix}, {goto: end}]}
      - {id: fix, agent_id: bot, prompt_template: f, next: test}
""")
    out = subprocess.run(
        [sys.executable, "-m", "baton", "workflows", "graph", "loop", "--svg", "loop.svg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    assert "graph TD;" in out.stdout and "test -. &nbsp;failed('test')&nbsp; .-> fix;" in out.stdout
    root = ET.parse(tmp_path / "loop.svg").getroot()
    assert root.tag == f"{SVG}svg"
    assert {g.get("data-id") for g in root.iter(f"{SVG}g") if g.get("data-id")} == {
        "__start__",
        "test",
        "fix",
        "__end__",
    }
