"""``HookClient``: hooks and answers from outside, for plain workflows with no router, on
the real dev server."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from temporal_router.adapter import HookClient, KeyRing, RouterClient, RouterPlugin, TrustPolicy
from temporal_router.router import ConfigurationError
from temporal_router.testing import DevServer, unique_task_queue
from temporal_router.workflows import (
    HOOK_SIGNAL,
    LIMITS,
    SHARED_QUERY,
    SHARED_SIGNAL,
    HookTargetError,
    SharedChange,
)
from tests.test_cli import Run

from ._plain_hooks import Adder, Approval, Counter, Goodbye, Hello

PLAIN = [Hello, Goodbye, Approval, Counter, Adder]


@pytest_asyncio.fixture
async def plain(temporal_dev_server: DevServer) -> AsyncIterator[tuple[Client, str]]:
    """A client and a worker of plain workflows: ``RouterPlugin`` with no router."""
    client = await Client.connect(
        temporal_dev_server.target, plugins=[RouterPlugin(workflows=PLAIN)]
    )
    queue = unique_task_queue()
    async with Worker(client, task_queue=queue):
        yield client, queue


async def test_hotmesh_goodbye_with_no_router(plain: tuple[Client, str]) -> None:
    client, queue = plain
    workflow_id = f"hello-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(Hello.run, "HookMesh", id=workflow_id, task_queue=queue)
    await HookClient(client).hook(workflow_id, task_queue=queue, workflow_name="Goodbye",
                                  args=["HookMesh"])  # fmt: skip
    assert await handle.result() == "Hello, HookMesh! - Goodbye, HookMesh!"


@pytest.mark.parametrize("early", [False, True], ids=["waiting", "before-the-wait"])
async def test_a_client_answers_a_wait(plain: tuple[Client, str], early: bool) -> None:
    client, queue = plain
    workflow_id = f"approval-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        Approval.run, 2.0 if early else 0.0, id=workflow_id, task_queue=queue
    )
    await HookClient(client).signal(workflow_id, "approval", {"approved": True, "by": "ada"})
    assert await handle.result() == {"approved": True, "by": "ada"}


@pytest.mark.parametrize(
    ("signal_id", "data", "complaint"),
    [
        ("", {}, "signal_id must not be empty"),
        ("s" * 1001, {}, "signal_id is 1001 characters"),
        ("approval", {"x": float("nan")}, "data.x: nan is not a JSON number"),
        ("approval", {"blob": "x" * LIMITS.max_answer_bytes}, "data too large"),
        ("approval", object(), "object is not a JSON value"),
    ],
    ids=["empty-id", "long-id", "nan", "too-large", "not-json"],
)
async def test_a_bad_answer_is_refused_before_sending(
    plain: tuple[Client, str], signal_id: str, data: object, complaint: str
) -> None:
    client, queue = plain
    workflow_id = f"approval-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(Approval.run, id=workflow_id, task_queue=queue)
    with pytest.raises(ValueError, match="nothing sent") as caught:
        await HookClient(client).signal(workflow_id, signal_id, data)
    assert complaint in str(caught.value)
    history = await handle.fetch_history()
    assert not [
        e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    await handle.terminate()


async def test_answering_or_hooking_a_missing_workflow_names_it(plain: tuple[Client, str]) -> None:
    client, queue = plain
    hooks = HookClient(client)
    with pytest.raises(HookTargetError, match="cannot answer 'nobody-here'"):
        await hooks.signal("nobody-here", "approval", {})
    with pytest.raises(HookTargetError, match="cannot hook into 'nobody-here'"):
        await hooks.hook("nobody-here", task_queue=queue, workflow_name="Goodbye")


async def _sealed_client(server: DevServer) -> Client:
    """A client whose workers seal internal messages (a key ring of their own)."""
    sealed = RouterPlugin(
        workflows=PLAIN, trust=TrustPolicy(internal_keys=KeyRing("k1", KeyRing.generate()))
    )
    return await Client.connect(server.target, plugins=[sealed])


async def test_workers_that_seal_internal_messages_drop_a_clients_answer(
    temporal_dev_server: DevServer,
) -> None:
    """As HookClient.signal says: the answer lands in history but the workflow never sees
    it, so its wait times out; the documented way in is an allow-listed hook."""
    client = await _sealed_client(temporal_dev_server)
    queue = unique_task_queue()
    async with Worker(client, task_queue=queue):
        handle = await client.start_workflow(
            Approval.run, args=[0.0, 2.0], id=f"approval-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        await HookClient(client).signal(handle.id, "approval", {"approved": True})
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert str(cause) == "HookTimeoutError: No signal 'approval' within 2s"


@pytest.mark.parametrize(
    ("kwargs", "error", "complaint"),
    [
        ({"args": "Ada"}, TypeError, "takes args as a list"),
        ({"args": {"name": "Ada"}}, TypeError, "takes args as a list"),
        ({"task_queue": ""}, ValueError, "task_queue must not be empty"),
        ({"hook_id": ""}, ValueError, "hook_id must not be empty"),
        ({"args": [float("nan")]}, ValueError, "args[0]: nan is not a JSON number"),
        ({"workflow_id": ""}, ValueError, "workflow_id must not be empty"),
        ({"workflow_id": "w" * 995}, ValueError, "hook_id is"),  # the derived hook id
    ],
    ids=["str-args", "mapping-args", "empty-queue", "empty-hook-id", "nan", "empty-id", "long-id"],
)
async def test_a_bad_hook_request_is_refused_before_sending(
    plain: tuple[Client, str], kwargs: dict[str, object], error: type[Exception], complaint: str
) -> None:
    client, queue = plain
    workflow_id = str(kwargs.pop("workflow_id", f"hello-{uuid.uuid4().hex[:8]}"))
    handle = await client.start_workflow(Approval.run, args=[0.0, 2.0], id=workflow_id or "x",
                                         task_queue=queue)  # fmt: skip
    request: dict[str, object] = {"task_queue": queue, "workflow_name": "Goodbye", **kwargs}
    with pytest.raises(error, match=re.escape(complaint)):
        await HookClient(client).hook(workflow_id, **request)  # type: ignore[arg-type]
    history = await handle.fetch_history()
    assert not [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    await handle.terminate()


async def test_a_workflow_shares_a_state_with_its_hooks_without_a_router(
    plain: tuple[Client, str],
) -> None:
    client, queue = plain
    handle = await client.start_workflow(
        Counter.run, queue, id=f"counter-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    assert await handle.result() == {"counter": 101, "jimbo": "jackson"}
    history = await handle.fetch_history()
    signals = [
        e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    names = [e.workflow_execution_signaled_event_attributes.signal_name for e in signals]
    assert names == [SHARED_SIGNAL, HOOK_SIGNAL]  # the refused change was never sent


async def test_with_sealed_messages_hooks_still_share_and_clients_cannot(
    temporal_dev_server: DevServer,
) -> None:
    client = await _sealed_client(temporal_dev_server)
    queue = unique_task_queue()
    async with Worker(client, task_queue=queue):
        counter = await client.start_workflow(
            Counter.run, queue, id=f"counter-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        assert await counter.result() == {"counter": 101, "jimbo": "jackson"}
        approval = await client.start_workflow(
            Approval.run, args=[0.0, 3.0], id=f"approval-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        await approval.signal(SHARED_SIGNAL, SharedChange({"forged": True}))
        with pytest.raises(WorkflowFailureError):
            await approval.result()  # its wait times out
        assert await approval.query(SHARED_QUERY) == {}


async def test_forged_shared_state_changes_are_dropped(plain: tuple[Client, str]) -> None:
    """Anyone with namespace access can signal: what is not a JSON change within the limit
    leaves the state as it was, and the workflow runs on."""
    client, queue = plain
    handle = await client.start_workflow(
        Approval.run, id=f"approval-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    for forged in (["not", "a", "change"], {"changes": {"x": "y" * 200_000}}, {"changes": 5}):
        await handle.signal(SHARED_SIGNAL, forged)
    await handle.signal(SHARED_SIGNAL, SharedChange({"ok": True}))

    async def state() -> object:
        return await handle.query(SHARED_QUERY)

    deadline = asyncio.get_running_loop().time() + 10
    while await state() != {"ok": True}:
        assert asyncio.get_running_loop().time() < deadline, await state()
        await asyncio.sleep(0.1)
    await HookClient(client).signal(handle.id, "approval", {"approved": True})
    assert await handle.result() == {"approved": True}


def test_router_client_is_a_hook_client() -> None:
    assert issubclass(RouterClient, HookClient)


def test_a_plugin_with_nothing_to_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="hosts nothing"):
        RouterPlugin()


async def test_hook_client_checks_its_arguments() -> None:
    with pytest.raises(ConfigurationError, match="needs a temporalio Client"):
        HookClient("127.0.0.1:7233")  # type: ignore[arg-type]


async def test_the_cli_hooks_and_answers_plain_workflows(plain: tuple[Client, str]) -> None:
    from tests.test_cli import cli as run_cli

    async def cli(*argv: str) -> Run:  # the worker runs on this loop: leave it free
        return await asyncio.to_thread(run_cli, *argv)

    client, queue = plain
    target = client.service_client.config.target_host
    app = ["--app", "tests.adapter._plain_app", "--address", target]
    hello = await client.start_workflow(
        Hello.run, "CLI", id=f"hello-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    hooked = await cli("hook", hello.id, "--hook-task-queue", queue, "--workflow-name", "Goodbye",
                 "--args", '["CLI"]', *app)  # fmt: skip
    assert hooked.code == 0, hooked.err
    assert await hello.result() == "Hello, CLI! - Goodbye, CLI!"

    approval = await client.start_workflow(
        Approval.run, id=f"approval-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    bad = await cli("signal", approval.id, "approval", "--data", '{"a": NaN}', *app)
    assert (bad.code, bad.out) == (2, "")
    assert "nothing sent" in bad.err
    answered = await cli("signal", approval.id, "approval", "--data", '{"approved": true}', *app)
    assert answered.code == 0, answered.err
    assert await approval.result() == {"approved": True}
    missing = await cli("signal", "nobody-here", "approval", *app)
    assert missing.code == 1
    assert "cannot answer 'nobody-here'" in missing.err
