"""Run an agent's command inside a container through the Docker Engine API (``docker`` SDK).

``isolation: docker`` on a CLI agent makes its adapter call :func:`run_in_container`
instead of :func:`~baton.workspace.process.run_process`, with the same arguments and the
same :class:`~baton.workspace.process.ProcessResult`. The container:

- runs ``config.image`` with the same argv, as the calling user (``config.user``
  overrides), with no capabilities and ``no-new-privileges``, under ``tini`` (``init``);
- sees only the workspace, mounted at its own path and read-only unless the step writes
  it (plus the adapter's private per-call folders, such as a generated config home);
- gets the allow-listed environment minus the host-only variables (PATH, TMPDIR,
  certificate paths: the image brings its own), with ``HOME=/tmp`` unless configured;
- is limited by ``config.cpus`` (CPUs, may be fractional), ``config.memory`` (``"2g"``
  or bytes) and ``config.pids_limit``, on ``config.network`` (``bridge`` by default,
  ``none``, ``host`` or a network name);
- is killed and removed when the timeout passes or the call is cancelled, and removed
  in every case once it has ended; a container whose Baton process died (``kill -9``)
  is removed by :func:`reap_orphan_containers` when Baton next starts or resumes an execution
  (containers carry the labels ``baton.execution`` and ``baton.owner`` = host:pid);
- reports an out-of-memory kill (``ProcessResult.oom_killed``): swap is not added on top
  of ``memory``, so the limit is the limit.

Networks (``config.network``): ``bridge`` (Docker's default network, NAT to the
outside), ``none`` (no network at all: only for agents that need no model API),
``host`` (the host's network stack: the agent reaches services on the host's
loopback, such as a local model gateway), or the name of a network made with
``docker network create`` (e.g. one shared with a model proxy container).

Other config keys: ``docker_host`` (default: ``DOCKER_HOST`` or the local socket),
``pull`` (``missing`` by default, ``always`` or ``never``). The SDK is synchronous, so
its calls run in worker threads; stdout and stderr are followed through two log
streams and handed to the callbacks line by line as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from baton.agents.base import AgentRequest, AgentUnavailable, HealthReport
from baton.models import Agent, Isolation
from baton.observability.redact import redactor
from baton.workspace.process import LineCallback, ProcessResult

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

INSTALL_HINT = "pip install 'baton[docker]'"
CONTAINER_HOME = "/tmp"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# Host paths that mean nothing inside the image.
HOST_ONLY_ENV = ("PATH", "TMPDIR", "SHELL", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS")
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_.-]+")
_LOG_WAIT_SECONDS = 5.0
OWNER_LABEL = "baton.owner"

T = TypeVar("T")


@dataclass(frozen=True)
class ContainerSpec:
    """Everything the container is created with (the arguments of ``containers.create``)."""

    image: str
    command: list[str]
    name: str
    working_dir: str
    environment: dict[str, str]
    volumes: dict[str, dict[str, str]]
    network_mode: str
    user: str
    labels: dict[str, str]
    nano_cpus: int | None = None
    mem_limit: str | int | None = None
    memswap_limit: str | int | None = None
    pids_limit: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def create_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "image": self.image,
            "command": self.command,
            "name": self.name,
            "working_dir": self.working_dir,
            "environment": self.environment,
            "volumes": self.volumes,
            "network_mode": self.network_mode,
            "user": self.user,
            "labels": self.labels,
            "detach": True,
            "tty": False,
            "stdin_open": False,
            "init": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
        }
        optional = {
            "nano_cpus": self.nano_cpus,
            "mem_limit": self.mem_limit,
            "memswap_limit": self.memswap_limit,
            "pids_limit": self.pids_limit,
        }
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        kwargs.update(self.extra)
        return kwargs


def container_environment(env: Mapping[str, str], agent: Agent) -> dict[str, str]:
    """``env`` as the container gets it: host-only paths dropped, HOME pointed inside."""
    configured = {str(k) for k in (agent.config.get("env") or {})}
    out = {k: v for k, v in env.items() if k not in HOST_ONLY_ENV or k in configured}
    if "HOME" not in configured:
        out["HOME"] = str(agent.config.get("home") or CONTAINER_HOME)
    return out


def container_spec(
    argv: Sequence[str],
    *,
    agent: Agent,
    request: AgentRequest,
    env: Mapping[str, str],
    extra_mounts: Sequence[str | os.PathLike[str]] = (),
) -> ContainerSpec:
    """The container one call runs in (see the module docstring for the rules)."""
    cfg = agent.config
    image = cfg.get("image")
    if not image:
        raise AgentUnavailable(
            f"agent {agent.id!r}: isolation 'docker' needs config.image "
            "(an image with the agent's CLI installed)",
            agent_id=agent.id,
        )
    workspace = str(Path(request.workspace_dir).resolve())
    volumes = {workspace: {"bind": workspace, "mode": "rw" if request.writes_workspace else "ro"}}
    for mount in extra_mounts:
        path = str(Path(mount).resolve())
        if path != workspace:
            volumes[path] = {"bind": path, "mode": "rw"}
    raw_name = f"baton-{agent.id}-{request.step_id or 'step'}-{request.attempt}-{uuid.uuid4().hex[:8]}"
    cpus = cfg.get("cpus")
    memory = cfg.get("memory")
    pids = cfg.get("pids_limit")
    mem_limit = memory if isinstance(memory, int) else (str(memory) if memory else None)
    return ContainerSpec(
        image=str(image),
        command=list(argv),
        name=_NAME_CHARS.sub("-", raw_name)[:120],
        working_dir=workspace,
        environment=container_environment(env, agent),
        volumes=volumes,
        network_mode=str(cfg.get("network") or "bridge"),
        user=str(cfg.get("user") or f"{os.getuid()}:{os.getgid()}"),
        labels={
            "baton.agent": agent.id,
            "baton.execution": request.execution_id,
            "baton.step": request.step_id,
            "baton.attempt": str(request.attempt),
            OWNER_LABEL: owner(),
        },
        nano_cpus=int(float(cpus) * 1_000_000_000) if cpus else None,
        mem_limit=mem_limit,
        memswap_limit=mem_limit,
        pids_limit=int(pids) if pids else None,
    )


def owner() -> str:
    """``host:pid`` of this Baton process: the ``baton.owner`` label of its containers."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(label: str) -> bool:
    host, _, pid = label.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's Baton: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reap_orphans_with(client: DockerClient) -> list[str]:
    """Remove the containers of Baton processes on this host that are gone; their names."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        if _owner_gone(str(container.labels.get(OWNER_LABEL, ""))):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
                removed.append(str(container.name))
    return removed


async def reap_orphan_containers(agents: Sequence[Agent]) -> list[str]:
    """Remove containers left by a Baton process that died (``kill -9``), on every engine
    the ``isolation: docker`` agents among ``agents`` use. Never raises."""
    hosts: dict[str, Agent] = {}
    for agent in agents:
        if agent.isolation is Isolation.DOCKER and container_unavailable_reason(agent) is None:
            hosts.setdefault(str(agent.config.get("docker_host") or ""), agent)
    removed: list[str] = []
    for agent in hosts.values():
        try:
            client = await asyncio.to_thread(connect, agent)
        except AgentUnavailable:
            continue
        try:
            removed += await asyncio.to_thread(reap_orphans_with, client)
        except Exception:  # the engine went away: nothing to reap there now
            pass
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(client.close)
    return removed


def container_unavailable_reason(agent: Agent) -> str | None:
    """Why a container agent cannot run at all (no SDK, no image), without contacting Docker."""
    import importlib.util

    if importlib.util.find_spec("docker") is None:
        return f"agent {agent.id!r}: isolation 'docker' needs the docker SDK; install it with: {INSTALL_HINT}"
    if not agent.config.get("image"):
        return (
            f"agent {agent.id!r}: isolation 'docker' needs config.image (an image with the "
            "agent's CLI installed)"
        )
    return None


def _docker() -> Any:
    try:
        import docker
    except ImportError:
        raise AgentUnavailable(f"the docker SDK is not installed; install it with: {INSTALL_HINT}") from None
    return docker


def connect(agent: Agent) -> DockerClient:
    """A client for the engine the agent names (``config.docker_host``) or the environment's."""
    docker = _docker()
    host = agent.config.get("docker_host")
    where = str(host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET)

    def unreachable(reason: str) -> AgentUnavailable:
        return AgentUnavailable(
            f"agent {agent.id!r}: cannot reach the Docker engine at {where} ({reason}); "
            "start Docker or set config.docker_host",
            agent_id=agent.id,
        )

    if where.startswith("unix://") and not Path(where[len("unix://") :]).exists():
        raise unreachable("no such socket")
    try:
        client: DockerClient = docker.DockerClient(base_url=str(host)) if host else docker.from_env()
    except docker.errors.DockerException as exc:
        raise unreachable(_one_line(exc)) from None
    return client


def _one_line(exc: BaseException) -> str:
    return redactor().redact_text(" ".join(str(exc).split()))[:300] or type(exc).__name__


def _in_thread(loop: asyncio.AbstractEventLoop, fn: Callable[[], T], name: str) -> asyncio.Future[T]:
    """Run a blocking call on its own daemon thread (never the loop's shared pool)."""
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = fn()
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=target, name=name, daemon=True).start()
    return future


def _ensure_image(client: DockerClient, agent: Agent, image: str) -> None:
    docker = _docker()
    policy = str(agent.config.get("pull") or "missing")
    if policy != "always":
        try:
            client.images.get(image)
            return
        except docker.errors.ImageNotFound:
            if policy == "never":
                raise AgentUnavailable(
                    f"agent {agent.id!r}: image {image!r} is not present and config.pull is 'never'; "
                    f"run `docker pull {image}`",
                    agent_id=agent.id,
                ) from None
    try:
        client.images.pull(image)
    except docker.errors.APIError as exc:
        raise AgentUnavailable(
            f"agent {agent.id!r}: cannot pull image {image!r}: {_one_line(exc)}", agent_id=agent.id
        ) from None


class _LinePump:
    """Follows one of a container's output streams and hands its lines to a callback."""

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: LineCallback | None) -> None:
        self.loop = loop
        self.callback = callback
        self.lines: list[str] = []
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.consumer = loop.create_task(self._consume())

    def start(self, client: DockerClient, container_id: str, which: str) -> None:
        """Follow the container's ``which`` stream (stdout or stderr) on a worker thread."""

        def follow() -> None:
            self.follow(
                lambda: client.api.logs(
                    container_id, stdout=which == "stdout", stderr=which == "stderr", stream=True, follow=True
                )
            )

        _in_thread(self.loop, follow, f"baton-logs-{which}")

    def follow(self, open_stream: Callable[[], Any]) -> None:
        """Runs on a worker thread: split the stream's byte chunks into lines."""
        pending = b""
        stream: Any = None
        try:
            stream = open_stream()
            for chunk in stream:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    self._put(raw.decode("utf-8", errors="replace") + "\n")
        except Exception:  # the stream was cut (container removed, engine gone): keep what came
            pass
        finally:
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()
            if pending:
                self._put(pending.decode("utf-8", errors="replace"))
            self._put(None)

    def _put(self, line: str | None) -> None:
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, line)

    async def _consume(self) -> None:
        while (line := await self.queue.get()) is not None:
            self.lines.append(line)
            if self.callback is not None:
                await self.callback(line.rstrip("\r\n"))


async def run_in_container(
    argv: Sequence[str],
    *,
    agent: Agent,
    request: AgentRequest,
    env: Mapping[str, str],
    timeout: float,
    on_stdout: LineCallback | None = None,
    on_stderr: LineCallback | None = None,
    extra_mounts: Sequence[str | os.PathLike[str]] = (),
    grace_seconds: float = 2.0,
) -> ProcessResult:
    """Run ``argv`` in a container for ``agent`` and return how it ended.

    Mirrors :func:`~baton.workspace.process.run_process`: output is streamed line by line,
    ``timed_out`` is set when ``timeout`` passed (the container was killed), and the
    container never outlives the call.
    """
    docker = _docker()
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    spec = container_spec(argv, agent=agent, request=request, env=env, extra_mounts=extra_mounts)
    client = await asyncio.to_thread(connect, agent)
    container: Container | None = None
    out = _LinePump(loop, on_stdout)
    err = _LinePump(loop, on_stderr)
    timed_out = False
    oom_killed = False
    exit_code: int | None = None
    try:
        with contextlib.suppress(docker.errors.DockerException):
            await asyncio.to_thread(reap_orphans_with, client)
        try:
            await asyncio.to_thread(_ensure_image, client, agent, spec.image)
            container = await asyncio.to_thread(lambda: client.containers.create(**spec.create_kwargs()))
            await asyncio.to_thread(container.start)
        except docker.errors.APIError as exc:
            raise AgentUnavailable(
                f"agent {agent.id!r}: cannot start a container from {spec.image!r}: {_one_line(exc)}",
                agent_id=agent.id,
            ) from None
        cid = str(container.id)
        out.start(client, cid, "stdout")
        err.start(client, cid, "stderr")
        waiting = _in_thread(loop, container.wait, "baton-container-wait")
        try:
            async with asyncio.timeout(timeout):
                status = await asyncio.shield(waiting)
            exit_code = int(status.get("StatusCode", -1))
            await asyncio.to_thread(container.reload)
            oom_killed = bool((container.attrs.get("State") or {}).get("OOMKilled"))
        except TimeoutError:
            timed_out = True
            await _kill(container, grace_seconds)
        # The log streams end once the container has stopped.
        await asyncio.wait([out.consumer, err.consumer], timeout=_LOG_WAIT_SECONDS)
    except asyncio.CancelledError:
        if container is not None:
            await asyncio.shield(_kill(container, grace_seconds))
        raise
    finally:
        for pump in (out, err):
            pump.consumer.cancel()
        if container is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.to_thread(container.remove, force=True, v=True))
        with contextlib.suppress(Exception):
            await asyncio.to_thread(client.close)
    return ProcessResult(
        argv=list(argv),
        exit_code=exit_code,
        stdout="".join(out.lines),
        stderr="".join(err.lines),
        timed_out=timed_out,
        duration_seconds=time.monotonic() - started,
        pid=0,
        oom_killed=oom_killed,
    )


async def _kill(container: Container, grace_seconds: float) -> None:
    """Stop the container now: SIGKILL (the caller removes it)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.to_thread(container.kill), grace_seconds + 5)


async def check_container(agent: Agent) -> HealthReport:
    """The engine answers and the image is present (or pullable); does not run the CLI."""
    reason = container_unavailable_reason(agent)
    if reason is not None:
        return HealthReport(ok=False, detail=reason)
    docker = _docker()
    image = str(agent.config["image"])
    try:
        client = await asyncio.to_thread(connect, agent)
    except AgentUnavailable as exc:
        return HealthReport(ok=False, detail=str(exc))
    try:
        version = await asyncio.to_thread(client.version)
        try:
            await asyncio.to_thread(client.images.get, image)
            where = "present"
        except docker.errors.ImageNotFound:
            if agent.config.get("pull") == "never":
                return HealthReport(ok=False, detail=f"image {image!r} is not present and pull is 'never'")
            where = "not pulled yet (pulled on first use)"
    except docker.errors.DockerException as exc:
        return HealthReport(ok=False, detail=f"Docker engine error: {_one_line(exc)}")
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(client.close)
    engine = str(version.get("Version") or "?")
    return HealthReport(ok=True, version=engine, detail=f"Docker engine {engine}; image {image} {where}")
