"""`baton ui` in a real Chromium: live runs, failures, diffs, approvals, cancel, escaping,
pagination and the local server's guards (one-time link, Host check, artefact paths)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Local, detach, status_of, wait_status

pytestmark = pytest.mark.slow


def test_a_running_workflow_changes_on_screen_without_reload_through_completed(local: Local, browser) -> None:
    page = local.signed_in(browser)
    page.evaluate("window.__sameDocument = 'yes'")
    execution_id = detach(local.root, "live")
    # the runs list picks the new run up live and follows it to the end
    row = page.locator(f'tr.run[data-id="{execution_id}"]')
    row.wait_for(timeout=15_000)
    page.screenshot(path=str(local.shots / "runs.png"), full_page=True)
    row.locator("a").click()
    page.wait_for_selector("main.runpage")
    page.evaluate("window.__sameDocument = 'yes'")
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = page.eval_on_selector_all(
            "svg .node[data-id]", "nodes => nodes.map(n => n.dataset.id + ':' + n.getAttribute('class'))"
        )
        snapshot = " ".join(sorted(states))
        if not seen or seen[-1] != snapshot:
            seen.append(snapshot)
        if page.locator("#run-status").inner_text() == "completed":
            break
        time.sleep(0.05)
    assert page.locator("#run-status").inner_text() == "completed"
    assert page.evaluate("window.__sameDocument") == "yes", "the page was reloaded"
    # the graph went through running states on screen before everything completed
    assert any("plan:node st-running" in s for s in seen) or any("code:node st-running" in s for s in seen), seen
    final = page.eval_on_selector_all("svg .node:not(.terminal)", "ns => ns.map(n => n.getAttribute('class'))")
    assert final == ["node st-completed"] * 3
    assert page.locator("#steps-done").inner_text() == "3"
    assert page.locator("#logrows li", has_text="execution completed").count() == 1
    # timeline: one finished attempt bar per step
    assert page.locator("svg.gantt rect.bar.attempt.ok").count() == 3
    page.screenshot(path=str(local.shots / "run.png"), full_page=True)
    page.goto(local.base + "/")
    assert page.locator(f'tr.run[data-id="{execution_id}"] .badge').inner_text() == "completed"
    assert page.locator(f'tr.run[data-id="{execution_id}"] .progress').inner_text() == "3/3"


def test_runs_list_rows_update_live(local: Local, browser) -> None:
    page = local.signed_in(browser)
    page.evaluate("window.__sameDocument = 'yes'")
    execution_id = detach(local.root, "live")
    badge = page.locator(f'tr.run[data-id="{execution_id}"] .badge')
    badge.wait_for(timeout=15_000)
    expect(badge).to_have_text("completed", timeout=60_000)
    assert page.evaluate("window.__sameDocument") == "yes"


def test_a_failed_step_shows_its_error_transcript_and_retries(local: Local, browser) -> None:
    execution_id = detach(local.root, "broken")
    wait_status(local.root, execution_id, {"failed"})
    page = local.signed_in(browser)
    page.goto(f"{local.base}/runs/{execution_id}")
    assert page.locator("#run-status").inner_text() == "failed"
    assert "st-failed" in (page.locator('svg .node[data-id="flaky"]').get_attribute("class") or "")
    page.click('svg .node[data-id="flaky"]')
    panel = page.locator('#panel[data-step="flaky"]')
    panel.wait_for()
    assert "the model fell over again" in panel.locator("#step-error").inner_text()
    attempts = panel.locator("ol.attempts > li")
    assert attempts.count() == 2
    assert "the model fell over (attempt 1)" in attempts.nth(0).inner_text()
    assert "retried after 0.30s" in attempts.nth(0).inner_text()
    assert "the model fell over again" in attempts.nth(1).inner_text()
    # the timeline shows both failed attempts and the retry wait between them
    assert page.locator('svg.gantt rect.bar.attempt.failed[data-step="flaky"]').count() == 2
    assert page.locator('svg.gantt rect.bar.retry-wait[data-step="flaky"]').count() == 1
    assert page.locator("#logrows li.lv-warning", has_text="retrying").count() == 1
    page.screenshot(path=str(local.shots / "failed-step.png"), full_page=True)


def test_a_step_that_changed_files_shows_the_right_diff(local: Local, browser) -> None:
    execution_id = detach(local.root, "live")
    wait_status(local.root, execution_id, {"completed"})
    page = local.signed_in(browser)
    page.goto(f"{local.base}/runs/{execution_id}?step=code")
    panel = page.locator('#panel[data-step="code"]')
    files = panel.locator(".diff")
    assert sorted(files.evaluate_all("ds => ds.map(d => d.dataset.file)")) == ["hello.py", "notes/readme.md"]
    hello = panel.locator('.diff[data-file="hello.py"]')
    assert "+print('hi')" in hello.inner_text()
    assert "--- /dev/null" in hello.inner_text() and "+++ b/hello.py" in hello.inner_text()
    assert hello.locator(".gi").count() >= 1  # added lines are highlighted as insertions
    assert "+# notes" in panel.locator('.diff[data-file="notes/readme.md"]').inner_text()
    assert panel.locator("ul.files li").all_inner_texts() == ["hello.py", "notes/readme.md"]
    # a step that changed nothing has no diff
    page.click('svg .node[data-id="plan"]')
    page.locator('#panel[data-step="plan"]').wait_for()
    assert page.locator("#panel .diff").count() == 0
    # the rendered prompt, model and tokens of the step
    assert page.locator("#panel pre.prompt").inner_text() == "plan docs"
    assert "echo-1" in page.locator("#panel dl.facts").inner_text()
    page.screenshot(path=str(local.shots / "diff.png"), full_page=True)


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_an_approval_decided_on_the_approvals_page(local: Local, browser, decision: str) -> None:
    execution_id = detach(local.root, "release")
    wait_status(local.root, execution_id, {"pending"})
    page = local.signed_in(browser)
    # wait for the step to be waiting (the run pauses after build)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.goto(f"{local.base}/approvals")
        if page.locator(f'article[data-run="{execution_id}"]').count():
            break
        time.sleep(0.3)
    card = page.locator(f'article[data-run="{execution_id}"][data-step="deploy"]')
    assert "Ship build?" in card.locator(".message").inner_text()
    page.goto(local.base + "/")
    assert page.locator(f'tr.run[data-id="{execution_id}"] .badge.st-waiting').inner_text() == "waiting for approval"
    page.goto(local.base + "/approvals")
    page.screenshot(path=str(local.shots / f"approvals-{decision}.png"), full_page=True)
    card.locator('input[name="reason"]').fill(f"{decision} from the browser")
    card.locator(f'button[value="{decision}"]').click()
    page.wait_for_load_state("load")
    assert "/approvals?msg=" in page.url, (page.url, page.content()[:3000])
    final = wait_status(local.root, execution_id, {"completed", "failed"})
    assert final == ("completed" if decision == "approve" else "failed")
    page.goto(f"{local.base}/runs/{execution_id}")
    classes = page.eval_on_selector_all("svg .node[data-id]", "ns => ns.map(n => n.dataset.id + ' ' + n.getAttribute('class'))")
    if decision == "approve":
        assert "announce node st-completed" in classes
        assert page.locator("#logrows li", has_text="approve from the browser").count() == 1
    else:
        assert "announce node st-completed" not in classes
        assert "reject from the browser" in page.locator("#run-error").inner_text()
    page.goto(f"{local.base}/approvals")
    assert page.locator(f'article[data-run="{execution_id}"]').count() == 0


def test_cancel_from_the_run_page_stops_a_running_execution(local: Local, browser) -> None:
    execution_id = detach(local.root, "forever")
    wait_status(local.root, execution_id, {"running"})
    page = local.signed_in(browser)
    page.goto(f"{local.base}/runs/{execution_id}")
    page.wait_for_selector('svg .node.st-running[data-id="wait"]', timeout=20_000)
    started = time.monotonic()
    page.click("#cancel-btn")
    expect(page.locator("#run-status")).to_have_text("cancelled", timeout=20_000)
    assert status_of(local.root, execution_id) == "cancelled"
    # the agent (sleep 600) was stopped: the step ends cancelled within seconds
    page.wait_for_selector('svg .node.st-cancelled[data-id="wait"]', timeout=20_000)
    assert time.monotonic() - started < 20
    assert page.locator("#cancel-btn").count() == 0
    # resume from the page: the unfinished step runs again, live; then cancel it for good
    page.click("#resume-btn")
    page.wait_for_selector('svg .node.st-running[data-id="wait"]', timeout=30_000)
    assert wait_status(local.root, execution_id, {"running"}) == "running"
    page.click("#cancel-btn")
    expect(page.locator("#run-status")).to_have_text("cancelled", timeout=20_000)
    assert wait_status(local.root, execution_id, {"cancelled"}) == "cancelled"


def test_html_in_an_agent_answer_shows_as_text_and_runs_nothing(local: Local, browser) -> None:
    execution_id = detach(local.root, "xss")
    wait_status(local.root, execution_id, {"completed"})
    page = local.signed_in(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{local.base}/runs/{execution_id}?step=xss")
    answer = page.locator("#step-answer").inner_text()
    assert answer == '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & done'
    assert page.locator("#panel pre.prompt").inner_text() == "say <b>something</b>"
    assert page.locator("#panel img").count() == 0 and page.locator("#panel script").count() == 0
    assert page.locator("#panel b", has_text="something").count() == 0
    time.sleep(0.5)
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    headers = httpx.get(f"{local.base}/signin").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]


def test_thousands_of_runs_paginate(local: Local, browser) -> None:
    from baton.models import ExecutionContext, ExecutionStatus
    from baton.store import open_store

    store = open_store(None, base_dir=local.root)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    snapshot = {"id": "live", "steps": [{"id": "a"}, {"id": "b"}]}
    ids = []
    try:
        for i in range(2_500):
            ctx = ExecutionContext(
                workflow_id="live", workspace_dir=str(local.root), start_time=base + timedelta(seconds=i)
            )
            store.create_execution(ctx, workflow_snapshot=snapshot)
            if i % 3 == 0:
                store.set_execution_status(ctx.id, ExecutionStatus.RUNNING)
            ids.append(ctx.id)
    finally:
        store.close()
    page = local.signed_in(browser)
    seen: list[str] = []
    pages = 0
    while True:
        rows = page.eval_on_selector_all("tr.run", "rs => rs.map(r => r.dataset.id)")
        assert len(rows) == (50 if pages < 49 else 2_500 - 49 * 50)
        seen.extend(rows)
        pages += 1
        older = page.locator("a.next")
        if older.count() == 0:
            break
        older.click()
        page.wait_for_load_state("domcontentloaded")
    assert pages == 50
    assert seen == list(reversed(ids))  # newest first, each exactly once
    # filters narrow the list (status) and keep paginating
    page.goto(f"{local.base}/?status=running")
    statuses = page.eval_on_selector_all("tr.run .badge", "bs => bs.map(b => b.textContent)")
    assert statuses == ["running"] * 50
    page.goto(f"{local.base}/?q={ids[1234][-12:]}")
    assert page.eval_on_selector_all("tr.run", "rs => rs.map(r => r.dataset.id)") == [ids[1234]]


def test_the_sign_in_link_works_once_and_other_hosts_are_refused(local: Local, browser) -> None:
    page = local.signed_in(browser)
    assert page.locator("table.runs").count() == 1
    other = browser.new_page()
    other.goto(local.url)  # the same link, a second time, from another browser profile
    assert "/signin" in other.url
    assert "one-time" in other.locator("main").inner_text()
    # no cookie: every page sends you to sign in, and writes are refused
    assert httpx.get(f"{local.base}/approvals").status_code == 303
    assert httpx.post(f"{local.base}/runs/x/cancel").status_code == 401
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host
    rebinding = httpx.get(f"{local.base}/", headers={"Host": "evil.example:80"})
    assert rebinding.status_code == 421


def test_artefacts_are_reachable_only_inside_the_execution_folder(local: Local, browser) -> None:
    execution_id = detach(local.root, "live")
    wait_status(local.root, execution_id, {"completed"})
    page = local.signed_in(browser)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    client = httpx.Client(base_url=local.base, cookies=cookies)
    ok = client.get(f"/runs/{execution_id}/artifacts/prompts/code.txt")
    assert ok.status_code == 200 and ok.text == "code the plan"
    for path in ("../../../baton.yaml", "..%2F..%2F..%2Fbaton.yaml", "%2E%2E/%2E%2E/baton.yaml", "/etc/passwd"):
        bad = client.get(f"/runs/{execution_id}/artifacts/{path}")
        assert bad.status_code == 404, path
        assert "version" not in bad.text


def test_every_page_renders(local: Local, browser) -> None:
    execution_id = detach(local.root, "live")
    wait_status(local.root, execution_id, {"completed"})
    page = local.signed_in(browser)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    for name, path, marker in [
        ("runs", "/", "table.runs"),
        ("workflows", "/workflows", "table.runs"),
        ("workflow", "/workflows/live", "form.runform"),
        ("agents", "/agents", "table.runs"),
        ("usage", "/usage", "section.usage"),
        ("approvals", "/approvals", "h1"),
    ]:
        page.goto(local.base + path)
        page.wait_for_selector(marker)
        page.screenshot(path=str(local.shots / f"{name}.png"), full_page=True)
        if name == "usage":  # charts from the run's tokens and cost
            assert page.locator("svg.chart").count() == 8
            assert "echo-1" in page.locator("svg.chart").nth(4).inner_html()
    # start a run from the form generated from the parameter schema
    page.goto(local.base + "/workflows/live")
    page.fill('input[name="p.topic"]', "from the form")
    page.click("#start-run")
    page.wait_for_url("**/runs/*")
    new_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    wait_status(local.root, new_id, {"completed"})
    page.goto(f"{local.base}/runs/{new_id}?step=plan")
    assert page.locator("#panel pre.prompt").inner_text() == "plan from the form"
    # the runs list says who started each run: the CLI, and the dashboard's form
    page.goto(local.base + "/")
    page.wait_for_selector("table.runs")
    triggers = {row.get_attribute("data-id"): row.locator("td").nth(3).inner_text()
                for row in page.locator("#runrows tr.run").all()}
    assert (triggers[execution_id], triggers[new_id]) == ("CLI", "Dashboard"), triggers
    # check an agent now
    page.goto(local.base + "/agents")
    page.locator('tr[data-agent="bot"] button').click()
    page.wait_for_url("**/agents?msg=*")
    assert "bot: healthy" in page.locator(".flash").inner_text()
    assert page.locator('tr[data-agent="bot"] .badge').inner_text() == "active"
    assert [e for e in errors if "favicon" not in e] == []


def test_no_dashboard_cost_when_closed(tmp_path: Path) -> None:
    """`baton run` imports nothing of the dashboard (nor FastAPI or Jinja's page templates)."""
    import subprocess
    import sys

    code = (
        "import sys, baton.cli.main; "
        "print(sorted(m for m in sys.modules if m.startswith(('baton.ui', 'fastapi'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_after_a_crash_and_resume_finished_steps_show_completed(local: Local, browser) -> None:
    import os
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "baton", "run", "live", "--json"], cwd=local.root,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    from baton.store import open_store

    store = open_store(None, base_dir=local.root)
    try:
        deadline = time.monotonic() + 60
        execution_id = None
        while time.monotonic() < deadline:
            runs = store.list_executions(limit=1)
            if runs:
                execution_id = runs[0].id
                steps = {r.step_id: r.status.value for r in store.list_steps(execution_id)}
                if steps.get("plan") == "completed" and steps.get("code") == "running":
                    break
            time.sleep(0.05)
        assert execution_id is not None
    finally:
        store.close()
    os.killpg(proc.pid, signal.SIGKILL)  # crash in the middle of "code"
    proc.wait(10)
    page = local.signed_in(browser)
    page.goto(f"{local.base}/runs/{execution_id}")
    classes = dict(page.eval_on_selector_all(
        "svg .node:not(.terminal)", "ns => ns.map(n => [n.dataset.id, n.getAttribute('class')])"))
    assert classes["plan"] == "node st-completed"
    assert classes["check"] == "node st-pending"
    # resume from the shell; the open page follows it to the end
    done = subprocess.run([sys.executable, "-m", "baton", "resume", execution_id, "--json"], cwd=local.root,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    page.reload()
    expect(page.locator("#run-status")).to_have_text("completed", timeout=30_000)
    final = page.eval_on_selector_all("svg .node:not(.terminal)", "ns => ns.map(n => n.getAttribute('class'))")
    assert final == ["node st-completed"] * 3
