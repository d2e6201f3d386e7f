"""The dashboard at `/` of a real `baton serve`: sign-in with an API token, roles, CSRF."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.api.serverproc import Proc, free_port, start_server
from tests.ui.conftest import PROJECT, make_project, wait_status

pytestmark = pytest.mark.slow

TOKENS = """
api:
  tokens:
    - {name: vera, role: viewer, token: "${T_VIEWER}"}
    - {name: otto, role: operator, token: "${T_OPERATOR}"}
"""


@dataclass
class Served:
    root: Path
    base: str
    tokens: dict[str, str]
    proc: Proc
    shots: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    root = make_project(tmp / "project")
    (root / "baton.yaml").write_text(PROJECT.format() + TOKENS)
    tokens = {"viewer": f"v-{secrets.token_hex(16)}", "operator": f"o-{secrets.token_hex(16)}"}
    env = {"T_VIEWER": tokens["viewer"], "T_OPERATOR": tokens["operator"]}
    port = free_port()
    proc = start_server(root, port, env=env)
    shots = tmp / "screenshots"
    shots.mkdir()
    try:
        yield Served(root, f"http://127.0.0.1:{port}", tokens, proc, shots)
    finally:
        proc.stop()


def sign_in(browser, served: Served, role: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(served.base + "/")
    assert "/signin" in page.url  # no cookie: the sign-in page
    page.fill('input[name="token"]', served.tokens[role])
    page.click('button[type="submit"]')
    page.wait_for_selector("table.runs")
    return page


def start_forever(served: Served) -> str:
    with httpx.Client(base_url=served.base, headers={"Authorization": f"Bearer {served.tokens['operator']}"}) as c:
        resp = c.post("/api/v1/executions", json={"workflow_id": "forever"})
        assert resp.status_code == 202, resp.text
        return str(resp.json()["execution_id"])


def test_no_cookie_means_the_sign_in_page(served: Served, browser) -> None:
    page = browser.new_page()
    page.goto(served.base + "/approvals")
    assert page.url.startswith(served.base + "/signin?next=")
    page.fill('input[name="token"]', "not-a-token")
    page.click('button[type="submit"]')
    assert "unknown or revoked" in page.locator("p.error").inner_text()
    page.screenshot(path=str(served.shots / "signin.png"))
    page.fill('input[name="token"]', served.tokens["viewer"])
    page.click('button[type="submit"]')
    page.wait_for_url(served.base + "/approvals")  # back where it was going
    cookie = next(c for c in page.context.cookies() if c["name"] == "baton_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # invisible to scripts
    # the API itself still wants its bearer token: the cookie is not an API credential
    assert httpx.get(served.base + "/api/v1/executions").status_code == 401


def test_a_viewer_sees_no_actions_and_its_posts_are_refused(served: Served, browser) -> None:
    execution_id = start_forever(served)
    page = sign_in(browser, served, "viewer")
    try:
        page.goto(f"{served.base}/runs/{execution_id}")
        page.wait_for_selector('svg .node.st-running[data-id="wait"]', timeout=30_000)
        assert page.locator("#cancel-btn").count() == 0
        assert page.locator("form[action$='/cancel'], form[action$='/decide'], form[action$='/resume']").count() == 0
        page.goto(served.base + "/workflows/live")
        assert page.locator("form.runform").count() == 0
        page.goto(served.base + "/agents")
        assert page.locator("tr[data-agent] button").count() == 0
        # posting anyway, with the viewer's own valid CSRF token, is 403
        page.goto(f"{served.base}/runs/{execution_id}")
        csrf = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page.get_attribute("body", "hx-headers") or "")
        assert csrf is not None
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        with httpx.Client(base_url=served.base, cookies=cookies) as client:
            refused = client.post(f"/runs/{execution_id}/cancel", data={"csrf": csrf.group(1)})
            assert refused.status_code == 403
            assert "has role &#39;viewer&#39;" in refused.text
            start = client.post("/workflows/live/run", data={"csrf": csrf.group(1)})
            assert start.status_code == 403
        assert wait_status(served.root, execution_id, {"running"}) == "running"
    finally:
        with httpx.Client(base_url=served.base, headers={"Authorization": f"Bearer {served.tokens['operator']}"}) as c:
            c.post(f"/api/v1/executions/{execution_id}/cancel")


def test_an_operator_cancels_and_a_post_without_csrf_is_refused(served: Served, browser) -> None:
    execution_id = start_forever(served)
    page = sign_in(browser, served, "operator")
    page.goto(f"{served.base}/runs/{execution_id}")
    page.wait_for_selector('svg .node.st-running[data-id="wait"]', timeout=30_000)
    assert page.locator("#cancel-btn").count() == 1
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=served.base, cookies=cookies) as client:
        missing = client.post(f"/runs/{execution_id}/cancel")
        assert missing.status_code == 403 and "CSRF" in missing.text
        wrong = client.post(f"/runs/{execution_id}/cancel", data={"csrf": "0" * 64})
        assert wrong.status_code == 403
        csrf = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page.get_attribute("body", "hx-headers") or "")
        assert csrf is not None
        cross = client.post(
            f"/runs/{execution_id}/cancel", data={"csrf": csrf.group(1)}, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403
    assert wait_status(served.root, execution_id, {"running"}) == "running"
    page.screenshot(path=str(served.shots / "run-operator.png"), full_page=True)
    page.click("#cancel-btn")
    expect(page.locator("#run-status")).to_have_text("cancelled", timeout=20_000)
    assert wait_status(served.root, execution_id, {"cancelled"}) == "cancelled"
    # the action is in the API's audit trail, under the token's name
    admin_rows = httpx.get(served.base + "/api/v1/executions/" + execution_id,
                           headers={"Authorization": f"Bearer {served.tokens['operator']}"}).json()
    assert admin_rows["status"] == "cancelled"


def test_an_operator_approves_from_the_approvals_page_and_a_worker_continues(served: Served, browser) -> None:
    with httpx.Client(base_url=served.base, headers={"Authorization": f"Bearer {served.tokens['operator']}"}) as c:
        resp = c.post("/api/v1/executions", json={"workflow_id": "release"})
        assert resp.status_code == 202, resp.text
        execution_id = resp.json()["execution_id"]
    page = sign_in(browser, served, "operator")
    card = page.locator(f'article[data-run="{execution_id}"][data-step="deploy"]')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and card.count() == 0:
        page.goto(served.base + "/approvals")
        time.sleep(0.3)
    assert "Ship build?" in card.locator(".message").inner_text()
    card.locator('input[name="reason"]').fill("looks good")
    card.locator('button[value="approve"]').click()
    page.wait_for_load_state("load")
    assert "approved by otto" in page.locator(".flash").inner_text()
    assert wait_status(served.root, execution_id, {"completed", "failed"}) == "completed"
    page.goto(f"{served.base}/runs/{execution_id}")
    assert page.locator("#logrows li", has_text="approved by otto: looks good").count() == 1
