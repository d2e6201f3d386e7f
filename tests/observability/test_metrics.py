"""The Prometheus exposition after real runs, scraped over HTTP and parsed by prometheus_client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from baton.engine.clock import FakeClock
from baton.models import AgentConfig
from baton.observability import metrics
from baton.observability.metrics import MetricsObserver
from tests.observability.conftest import MakeBaton, reply, scripted

AGENTS = {
    "claude": scripted(
        "sonnet-x",
        script={
            "review": [reply("ok", input_tokens=1000, output_tokens=200, cost=0.006)],
            "fix": [
                {"fail": "rate_limited", "retry_after": 1},
                reply("fixed", input_tokens=400, output_tokens=100, cost=0.0027),
            ],
        },
    ),
    "codex": scripted("gpt-y", script=[reply("style ok", input_tokens=300, output_tokens=50, cost=0.001)]),
}
WORKFLOWS = {
    "review": {
        "steps": [
            {"id": "review", "agent_id": "claude", "prompt_template": "review"},
            {"id": "style", "agent_id": "codex", "prompt_template": "style", "dependencies": []},
            {
                "id": "fix",
                "agent_id": "claude",
                "prompt_template": "fix",
                "dependencies": ["review"],
                "retry_policy": {"max_attempts": 2},
            },
            {"id": "never", "agent_id": "codex", "prompt_template": "x", "condition": "false"},
        ]
    },
}


@pytest.fixture
def observer() -> Iterator[MetricsObserver]:
    made = MetricsObserver({k: AgentConfig.model_validate(v) for k, v in AGENTS.items()})
    metrics.install(made)
    yield made
    metrics.install(None)
    made.shutdown()


@pytest.fixture
def metrics_url() -> Iterator[str]:
    """``/metrics`` served the way the HTTP API mounts it: ``metrics.exposition()``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, content_type = metrics.exposition()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()
    server.server_close()


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


async def test_scraped_metrics_after_two_runs(
    make_baton: MakeBaton, observer: MetricsObserver, metrics_url: str
) -> None:
    baton = make_baton(WORKFLOWS, AGENTS, clock=FakeClock(), observers=[observer])
    first = await baton.run_to_end("review")
    second = await baton.run_to_end("review")  # answered from the prompt cache
    samples = scrape(metrics_url)

    assert value(samples, "baton_executions_total", workflow="review", status="completed") == 2
    assert value(samples, "baton_executions_active", workflow="review") == 0
    assert value(samples, "baton_steps_total", workflow="review", agent="claude", status="completed") == 4
    assert value(samples, "baton_steps_total", workflow="review", agent="codex", status="completed") == 2
    assert value(samples, "baton_steps_total", workflow="review", agent="none", status="skipped") == 2
    assert (
        value(
            samples, "baton_step_retries_total", workflow="review", agent="claude", error_type="RateLimited"
        )
        == 1
    )
    assert value(samples, "baton_rate_limit_events_total", agent="claude", kind="429") == 1
    assert total(samples, "baton_step_duration_seconds_count", workflow="review") == 6
    # the second run was all cache hits: tokens and cost count the first run only
    assert value(samples, "baton_cache_hits_total", workflow="review", agent="claude") == 2
    assert value(samples, "baton_cache_hits_total", workflow="review", agent="codex") == 1
    assert (
        value(
            samples, "baton_tokens_total", workflow="review", agent="claude", model="sonnet-x", type="input"
        )
        == 1400
    )
    assert (
        value(samples, "baton_tokens_total", workflow="review", agent="codex", model="gpt-y", type="output")
        == 50
    )
    assert total(samples, "baton_tokens_total") == first.usage.total_tokens
    assert total(samples, "baton_cost_usd_total") == pytest.approx(first.cost_usd)
    assert second.cost_usd == 0


async def test_queue_depth_counts_executions_waiting_for_a_slot(
    make_baton: MakeBaton, observer: MetricsObserver
) -> None:
    agents = {"slow": scripted(script=[reply("done", delay=0.2)])}
    workflows = {
        "one": {
            "steps": [{"id": "a", "agent_id": "slow", "prompt_template": "{{ params.n }}"}],
            "parameters": {"n": {"type": "string"}},
        }
    }
    baton = make_baton(workflows, agents, observers=[observer], global_={"max_concurrent_executions": 1})
    handles = [baton.run("one", {"n": str(i)}) for i in range(3)]
    import asyncio

    await asyncio.sleep(0.1)
    samples = {(n, ls): v for (n, ls), v in _parse(observer.exposition()[0].decode()).items()}
    assert value(samples, "baton_queue_depth", queue="executions", agent="") == 2
    for handle in handles:
        await handle.wait()
    samples = _parse(observer.exposition()[0].decode())
    assert value(samples, "baton_queue_depth", queue="executions", agent="") == 0
    assert value(samples, "baton_executions_total", workflow="one", status="completed") == 3


def _parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_exposition_is_empty_when_metrics_are_off() -> None:
    metrics.install(None)
    body, content_type = metrics.exposition()
    assert body == b""
    assert content_type.startswith("text/plain")
    assert metrics.registry() is None


async def test_the_api_combines_its_registry_with_the_engines(
    make_baton: MakeBaton, observer: MetricsObserver
) -> None:
    from baton.api.metrics import ApiMetrics

    baton = make_baton(WORKFLOWS, AGENTS, clock=FakeClock(), observers=[observer])
    await baton.run_to_end("review")
    assert metrics.registry() is observer.registry
    samples = _parse(ApiMetrics().exposition().decode())
    assert value(samples, "baton_executions_total", workflow="review", status="completed") == 1
