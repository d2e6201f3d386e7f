"""Through the real CLI: tracing and metrics switched on in baton.yaml, then ``baton usage``."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli.main import app
from baton.cli.usage_cmd import bar, parse_since
from baton.observability import metrics

CONFIG = """\
version: "1.0.0"
agents:
  claude:
    provider: scripted
    model: sonnet-like
    capabilities: [review]
    config:
      script: [{reply: "looks fine", usage: {input_tokens: 1500, output_tokens: 300}, cost_usd: 0.009}]
  codex:
    provider: scripted
    model: gpt-like
    capabilities: [review]
    config:
      script: [{reply: "style ok", usage: {input_tokens: 400, output_tokens: 80}, cost_usd: 0.002}]
workflows:
  review:
    parameters: {n: {type: string, default: "0"}}
    steps:
      - {id: security, agent_id: claude, prompt_template: "security {{ params.n }}"}
      - {id: style, agent_id: codex, prompt_template: "style {{ params.n }}", dependencies: []}
observability:
  tracing: {enabled: true, exporter: file}
  metrics: true
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "baton.yaml").write_text(CONFIG)
    monkeypatch.chdir(root)
    monkeypatch.setenv("BATON_USER_CONFIG", str(tmp_path / "no-user.yaml"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in list(os.environ):
        if name.startswith("BATON_") and name != "BATON_USER_CONFIG":
            monkeypatch.delenv(name)
    yield root
    metrics.install(None)


def eventually(path: Path, timeout: float = 10.0) -> str:
    """The file's text once the background span writer has written it."""
    deadline = time.monotonic() + timeout
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.read_text()


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_traces_metrics_and_usage_from_the_configuration(project: Path) -> None:
    runs = []
    for n in ("1", "2"):
        code, out = run(["run", "review", "-p", f"n={n}", "--json"])
        assert code == 0, out
        runs.append(json.loads(out[out.index("{") :]))
    for result in runs:
        trace = json.loads(
            eventually(project / ".baton" / "artifacts" / result["execution_id"] / "trace.json")
        )
        assert trace["execution_id"] == result["execution_id"]
        names = sorted(s["name"] for s in trace["spans"])
        assert names == [
            "invoke_agent gpt-like",
            "invoke_agent sonnet-like",
            "step security",
            "step style",
            "workflow review",
        ]
    body, _ = metrics.exposition()  # one process: both runs counted
    assert b'baton_executions_total{status="completed",workflow="review"} 2.0' in body
    assert (
        b'baton_tokens_total{agent="claude",model="sonnet-like",type="input",workflow="review"} 3000.0'
        in body
    )
    code, out = run(["status", runs[-1]["execution_id"], "--json"])
    assert code == 0
    assert json.loads(out)["trace_id"] == trace["trace_id"]

    code, out = run(["usage", "--by", "agent", "--since", "7d", "--json"])
    assert code == 0, out
    report = json.loads(out)
    rows = {r["group"]: r for r in report["rows"]}
    assert rows["claude"]["calls"] == 2 and rows["claude"]["input_tokens"] == 3000
    assert rows["codex"]["total_tokens"] == 2 * 480
    assert report["total"]["cost_usd"] == pytest.approx(2 * 0.011)

    code, out = run(["usage", "--by", "model"])
    assert code == 0
    assert "usage by model" in out and "sonnet-like" in out and "gpt-like" in out
    assert "$0.0180" in out and "█" in out  # claude's cost and its bar

    code, out = run(["usage", "--by", "day", "--json"])
    assert [r["group"] for r in json.loads(out)["rows"]] == [datetime.now(UTC).strftime("%Y-%m-%d")]


def test_usage_rejects_bad_options(project: Path) -> None:
    code, out = run(["usage", "--by", "planet"])
    assert code == 2 and "--by 'planet': expected one of agent, model, workflow, day, execution" in out
    code, out = run(["usage", "--since", "last tuesday"])
    assert code == 2 and "--since 'last tuesday'" in out
    code, out = run(["usage"])
    assert code == 0 and "no agent calls recorded" in out


def test_since_and_bars() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("36h", now) == now - timedelta(hours=36)
    assert parse_since("2w", now) == now - timedelta(weeks=2)
    assert parse_since("2026-03-01", now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since(None, now) is None
    assert bar(10, 10, width=4) == "████"
    assert bar(5, 10, width=4) == "██"
    assert bar(1, 80, width=10) == "▏"
    assert bar(0, 10) == ""
