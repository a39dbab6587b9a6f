"""The trust model on a real dev server: every bypass an attacker with namespace access but
no key could try, through a plain temporalio client and the ``temporal`` CLI, is refused
and changes nothing; the same flows succeed with a valid credential.

The workers here verify callers (shared secret) and seal internal messages (a key ring);
SECURITY.md is the model.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pydantic import BaseModel
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Replayer, Worker

from temporal_router import (
    Context,
    CreationRequest,
    DomainErrorSignal,
    DomainFailure,
    RouterFailure,
    WorkflowRouter,
    caller_context,
    define_workflow,
)
from temporal_router.adapter import (
    CALLER_HEADER,
    CREDENTIAL_HEADER,
    KeyRing,
    RouterClient,
    RouterPlugin,
    SharedSecretSigner,
    SharedSecretVerifier,
    TrustPolicy,
)
from temporal_router.testing import DevServer, find_temporal_cli, unique_task_queue
from temporal_router.workflows import (
    DISPATCH_UPDATE,
    HOOK_REQUEST_SIGNAL,
    HOOK_SIGNAL,
    SNAPSHOT_QUERY,
    HookTargetError,
    exec_hook,
)

from ._hook_support import child_starts, eventually
from ._hook_workflows import ALL_WORKFLOWS

CALLER_KEY = KeyRing.generate()
WORKER_KEY = KeyRing.generate()

# -- the entity under attack ----------------------------------------------------------------


class Vault(BaseModel):
    balance: int = 0
    notes: list[str] = []
    answers: list[Any] = []


class Deposit(BaseModel):
    amount: int


class Note(BaseModel):
    text: str


class Exec(BaseModel):
    spec: dict[str, Any] = {}
    signal_id: str | None = None
    timeout: float = 30


class Forbidden(BaseModel):
    role: str


VAULT = define_workflow(
    "TrustVault",
    states={"Open": Vault},
    commands={"Deposit": Deposit, "Note": Note, "Exec": Exec},
    events={},
    errors={"Forbidden": Forbidden},
)


def build_router() -> WorkflowRouter:
    router = WorkflowRouter(VAULT)

    async def tellers_only(ctx: Context, next: Any) -> None:
        if ctx.command.type == "Deposit" and (
            ctx.caller is None or not ctx.caller.has_role("teller")
        ):
            ctx.error("Forbidden", {"role": "teller"})
        await next()

    router.use(tellers_only)
    state = router.state("Open")
    state.on(
        "Deposit", lambda ctx: ctx.update(balance=ctx.data.balance + ctx.command.payload.amount)
    )
    state.on("Note", lambda ctx: ctx.update(notes=[*ctx.data.notes, ctx.command.payload.text]))

    async def run_hook(ctx: Context) -> None:
        payload = ctx.command.payload
        answer = await exec_hook(
            task_queue=workflow.info().task_queue,
            workflow_name="HookChild",
            args=[payload.spec],
            signal_id=payload.signal_id,
            timeout=payload.timeout,
        )
        ctx.update(answers=[*ctx.data.answers, answer.get("tag")])

    state.on("Exec", run_hook)

    @router.guard_create
    def tellers_open_vaults(request: CreationRequest) -> None:
        if request.caller is None or not request.caller.has_role("teller"):
            raise DomainErrorSignal("Forbidden", {"role": "teller"})

    return router


ROUTER = build_router()


def trust_policy(keys: KeyRing | None = None, **changes: Any) -> TrustPolicy:
    return TrustPolicy(
        callers=SharedSecretVerifier({"svc": CALLER_KEY}),
        internal_keys=keys or KeyRing("k1", WORKER_KEY),
        client_hooks=["HookChild"],
        **changes,
    )


@dataclass
class Env:
    server: DevServer
    client: Client
    raw: Client
    vaults: RouterClient
    anonymous: RouterClient
    task_queue: str

    async def new_vault(self) -> str:
        vault = f"vault-{uuid.uuid4().hex[:10]}"
        with caller_context(identity="tess", roles=("teller",)):
            await self.vaults.create(vault, initial_state="Open", data={})
        return vault

    async def state(self, vault: str) -> tuple[Any, int, int]:
        snapshot = await self.vaults.get(vault)
        handle = self.client.get_workflow_handle(vault)
        return snapshot.data, snapshot.version, (await handle.describe()).history_length

    async def raw_update(self, vault: str, request: Any, headers: Mapping[str, Any]) -> Any:
        client = await Client.connect(self.server.target, interceptors=[_Headers(dict(headers))])
        return await client.get_workflow_handle(vault).execute_update(
            DISPATCH_UPDATE, request, id=str(uuid.uuid4())
        )


class _Headers(Interceptor):
    """A plain client that adds the given headers (name -> JSON value) to every Update."""

    def __init__(self, headers: dict[str, Any]) -> None:
        self.headers = {k: PayloadConverter.default.to_payload(v) for k, v in headers.items()}

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        extra = self.headers

        class Outbound(OutboundInterceptor):
            async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
                input.headers = {**input.headers, **extra}
                return await super().start_workflow_update(input)

        return Outbound(next)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    queue = unique_task_queue("trust")
    plugin = RouterPlugin(ROUTER, workflows=ALL_WORKFLOWS, trust=trust_policy())
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    raw = await Client.connect(temporal_dev_server.target)
    signer = SharedSecretSigner("svc", CALLER_KEY)
    async with Worker(client, task_queue=queue):
        yield Env(
            temporal_dev_server,
            client,
            raw,
            RouterClient(client, ROUTER, task_queue=queue, credentials=signer),
            RouterClient(client, ROUTER, task_queue=queue),
            queue,
        )


def _refusal(exc: BaseException) -> dict[str, Any]:
    assert isinstance(exc, WorkflowUpdateFailedError), exc
    cause = exc.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == "TemporalRouterRejected", cause
    return dict(cause.details[0])


def _forbidden(reply: Any) -> bool:
    return not reply["ok"] and reply["error"]["code"] == "Forbidden"


# -- callers --------------------------------------------------------------------------------------


async def test_a_verified_caller_is_believed_and_a_command_without_one_is_anonymous(
    env: Env,
) -> None:
    vault = await env.new_vault()
    with caller_context(identity="tess", roles=("teller",)):
        ok = await env.vaults.dispatch(vault, {"type": "Deposit", "payload": {"amount": 5}})
    assert ok.ok, ok.error
    # The same caller, named but not proven (no credential): anonymous, refused.
    with caller_context(identity="tess", roles=("teller",)):
        unproven = await env.anonymous.dispatch(
            vault, {"type": "Deposit", "payload": {"amount": 5}}
        )
    assert isinstance(unproven.error, DomainFailure)
    assert unproven.error.code == "Forbidden"
    # No caller at all never acts for the vault's creator.
    nobody = await env.vaults.dispatch(vault, {"type": "Deposit", "payload": {"amount": 5}})
    assert isinstance(nobody.error, DomainFailure)
    assert (await env.vaults.get(vault)).data.balance == 5


async def test_a_forged_caller_header_from_a_plain_client_is_ignored(env: Env) -> None:
    vault = await env.new_vault()
    before = await env.state(vault)
    reply = await env.raw_update(
        vault,
        {"type": "Deposit", "payload": {"amount": 1_000_000}},
        {CALLER_HEADER: {"identity": "eve", "roles": ["teller", "admin"]}},
    )
    assert _forbidden(reply), reply
    data, version, _ = await env.state(vault)
    assert (data, version) == before[:2]


async def test_a_forged_caller_header_from_the_temporal_cli_is_ignored(env: Env) -> None:
    vault = await env.new_vault()
    before = await env.state(vault)
    completed = await asyncio.to_thread(
        subprocess.run,
        [
            find_temporal_cli(),
            "workflow",
            "update",
            "execute",
            "--address",
            env.server.target,
            "--workflow-id",
            vault,
            "--name",
            DISPATCH_UPDATE,
            "--input",
            json.dumps({"type": "Deposit", "payload": {"amount": 1_000_000}}),
            "--headers",
            f"{CALLER_HEADER}={json.dumps({'identity': 'eve', 'roles': ['teller']})}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Forbidden" in completed.stdout + completed.stderr, completed
    data, version, _ = await env.state(vault)
    assert (data, version) == before[:2]


@pytest.mark.parametrize(
    "credential",
    [
        "not-a-credential",
        "trs1.svc.e30.AAAA",  # well formed, forged signature
        "expired",
        "other-workflow",
        "unknown-key",
    ],
)
async def test_a_bad_credential_is_refused_and_leaves_no_history(env: Env, credential: str) -> None:
    vault = await env.new_vault()
    before = await env.state(vault)
    caller_payload: Any = {"identity": "eve", "roles": ["teller"]}
    if credential == "expired":
        credential = (
            SharedSecretSigner("svc", CALLER_KEY, ttl=timedelta(seconds=-1)).credential(
                _caller(caller_payload), workflow_id=vault, command_id=None, purpose="update"
            )
            or ""
        )
    elif credential == "other-workflow":
        credential = (
            SharedSecretSigner("svc", CALLER_KEY).credential(
                _caller(caller_payload),
                workflow_id="another-vault",
                command_id=None,
                purpose="update",
            )
            or ""
        )
    elif credential == "unknown-key":
        credential = (
            SharedSecretSigner("nope", KeyRing.generate()).credential(
                _caller(caller_payload), workflow_id=vault, command_id=None, purpose="update"
            )
            or ""
        )
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await env.raw_update(
            vault, {"type": "Deposit", "payload": {"amount": 9}}, {CREDENTIAL_HEADER: credential}
        )
    refused = _refusal(caught.value)
    assert (refused["category"], refused["code"]) == ("router", "UNAUTHENTICATED")
    assert await env.state(vault) == before


def _caller(fields: dict[str, Any]) -> Any:
    from temporal_router import Caller

    return Caller.from_dict(fields)


async def test_require_caller_refuses_anonymous_commands(temporal_dev_server: DevServer) -> None:
    queue = unique_task_queue("trust-require")
    plugin = RouterPlugin(ROUTER, workflows=ALL_WORKFLOWS, trust=trust_policy(require_caller=True))
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    signer = SharedSecretSigner("svc", CALLER_KEY)
    async with Worker(client, task_queue=queue):
        vaults = RouterClient(client, ROUTER, task_queue=queue, credentials=signer)
        vault = f"vault-{uuid.uuid4().hex[:10]}"
        with caller_context(identity="tess", roles=("teller",)):
            await vaults.create(vault, initial_state="Open", data={})
        result = await vaults.dispatch(vault, {"type": "Note", "payload": {"text": "hi"}})
        assert isinstance(result.error, RouterFailure)
        assert result.error.code == "UNAUTHENTICATED"
        with caller_context(identity="ada"):
            ok = await vaults.dispatch(vault, {"type": "Note", "payload": {"text": "hi"}})
        assert ok.ok, ok.error


# -- creation -------------------------------------------------------------------------------------


async def test_a_refused_creation_leaves_no_entity(env: Env) -> None:
    for client_side in (env.vaults, env.anonymous):
        vault = f"vault-{uuid.uuid4().hex[:10]}"
        with (
            caller_context(
                identity="eve", roles=("teller",) if client_side is env.anonymous else ()
            ),
            pytest.raises(WorkflowQueryFailedError, match="creation refused"),
        ):
            await client_side.create(vault, initial_state="Open", data={"balance": 10**6})
        handle = env.client.get_workflow_handle(vault)
        with pytest.raises(WorkflowFailureError) as caught:
            await asyncio.wait_for(handle.result(), 20)
        assert "creation refused" in str(caught.value.cause)
        assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


async def test_update_with_start_by_a_caller_the_guard_refuses_is_refused(env: Env) -> None:
    vault = f"vault-{uuid.uuid4().hex[:10]}"
    with caller_context(identity="eve"):
        result = await env.vaults.dispatch(
            vault,
            {"type": "Note", "payload": {"text": "mine now"}},
            create={"initial_state": "Open", "data": {"balance": 10**6}},
        )
    assert isinstance(result.error, RouterFailure), result
    assert result.error.code == "FORBIDDEN"
    assert "creation refused" in result.error.message


async def test_a_raw_start_with_a_crafted_snapshot_is_a_creation(env: Env) -> None:
    """With a key ring, only the entity's own continue-as-new carries a snapshot in."""
    vault = f"vault-{uuid.uuid4().hex[:10]}"
    crafted = {
        "definition": VAULT.name,
        "snapshot": {
            "id": vault,
            "definition_name": VAULT.name,
            "state": "Open",
            "data": {"balance": 10**9},
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "version": 99,
            "model_version": 1,
        },
        "recent": [{"command_id": "c1", "reply": {"ok": True}}],
    }
    handle = await env.raw.start_workflow(VAULT.name, crafted, id=vault, task_queue=env.task_queue)
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 20)
    assert "needs 'create'" in str(caught.value.cause)


# -- internal messages ------------------------------------------------------------------------------


async def test_an_unsealed_hook_answer_is_dropped_and_the_real_one_is_taken(env: Env) -> None:
    vault = await env.new_vault()
    signal_id = f"answer-{uuid.uuid4().hex[:8]}"
    waiting = asyncio.create_task(
        env.vaults.dispatch(
            vault,
            {
                "type": "Exec",
                "payload": {"spec": {"tag": "real", "sleep": 1.5}, "signal_id": signal_id},
            },
        )
    )
    await eventually(lambda: _has_child(env, vault))
    await env.raw.get_workflow_handle(vault).signal(
        HOOK_SIGNAL, {"id": signal_id, "data": {"tag": "forged"}}
    )
    result = await asyncio.wait_for(waiting, 30)
    assert result.ok, result.error
    assert result.workflow is not None
    assert isinstance(result.workflow.data, Vault)
    assert result.workflow.data.answers == ["real"]


async def _has_child(env: Env, vault: str) -> bool:
    return bool(await child_starts(env.client.get_workflow_handle(vault)))


async def test_an_unsealed_hook_request_starts_nothing(env: Env) -> None:
    vault = await env.new_vault()
    hook_id = f"{vault}-forged"
    await env.raw.get_workflow_handle(vault).signal(
        HOOK_REQUEST_SIGNAL,
        {
            "hook_id": hook_id,
            "task_queue": env.task_queue,
            "workflow_name": "HookChild",
            "args": [{}],
        },
    )
    # A command after the signal is answered after it was handled: nothing started.
    with caller_context(identity="tess", roles=("teller",)):
        await env.vaults.dispatch(vault, {"type": "Note", "payload": {"text": "after"}})
    assert await child_starts(env.client.get_workflow_handle(vault)) == []


async def test_client_hook_requests_need_a_verified_caller_and_an_allowed_type(env: Env) -> None:
    vault = await env.new_vault()
    with pytest.raises(HookTargetError, match="needs a verified caller"):
        await env.anonymous.hook(vault, task_queue=env.task_queue, workflow_name="HookChild")
    with caller_context(identity="tess"), pytest.raises(HookTargetError, match="client_hooks"):
        await env.vaults.hook(vault, task_queue=env.task_queue, workflow_name="WhoAmI")
    with caller_context(identity="tess"):
        hook_id = await env.vaults.hook(
            vault, task_queue=env.task_queue, workflow_name="HookChild", args=[{"tag": "ok"}]
        )
    assert [s.workflow_id for s in await child_starts(env.client.get_workflow_handle(vault))] == [
        hook_id
    ]


async def test_via_hook_in_a_raw_update_cannot_pass_the_lock(env: Env) -> None:
    vault = await env.new_vault()
    before = await env.state(vault)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await env.raw_update(
            vault,
            {"type": "Note", "payload": {"text": "jump"}, "via_hook": f"{vault}-hook-x"},
            {},
        )
    refused = _refusal(caught.value)
    assert (refused["code"], "seal" in refused["message"]) == ("UNAUTHENTICATED", True)
    assert await env.state(vault) == before


async def test_protected_snapshots_answer_only_verified_callers(
    temporal_dev_server: DevServer,
) -> None:
    queue = unique_task_queue("trust-snap")
    plugin = RouterPlugin(
        ROUTER, workflows=ALL_WORKFLOWS, trust=trust_policy(protect_snapshots=True)
    )
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    signer = SharedSecretSigner("svc", CALLER_KEY)
    async with Worker(client, task_queue=queue):
        vaults = RouterClient(client, ROUTER, task_queue=queue, credentials=signer)
        vault = f"vault-{uuid.uuid4().hex[:10]}"
        with caller_context(identity="tess", roles=("teller",)):
            await vaults.create(vault, initial_state="Open", data={})
            assert (await vaults.get(vault)).version == 1
        with pytest.raises(WorkflowQueryFailedError, match="protected"):
            await RouterClient(client, ROUTER, task_queue=queue).get(vault)
        with pytest.raises(WorkflowQueryFailedError, match="protected"):
            await client.get_workflow_handle(vault).query(SNAPSHOT_QUERY)


# -- keys: encryption, rotation --------------------------------------------------------------------


async def test_with_encryption_an_unencrypted_command_is_refused(
    temporal_dev_server: DevServer,
) -> None:
    queue = unique_task_queue("trust-enc")
    plugin = RouterPlugin(ROUTER, trust=trust_policy(), encryption_key=KeyRing.generate())
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    signer = SharedSecretSigner("svc", CALLER_KEY)
    raw = await Client.connect(temporal_dev_server.target)
    async with Worker(client, task_queue=queue):
        vaults = RouterClient(client, ROUTER, task_queue=queue, credentials=signer)
        vault = f"vault-{uuid.uuid4().hex[:10]}"
        with caller_context(identity="tess", roles=("teller",)):
            await vaults.create(vault, initial_state="Open", data={})
        events = (await client.get_workflow_handle(vault).describe()).history_length
        # Refused; the refusal itself is encrypted, so the plain client cannot even read it.
        with pytest.raises(KeyError, match="binary/encrypted"):
            await raw.get_workflow_handle(vault).execute_update(
                DISPATCH_UPDATE, {"type": "Note", "payload": {"text": "plain"}}, id="plain-1"
            )
        assert (await vaults.get(vault)).data.notes == []
        assert (await client.get_workflow_handle(vault).describe()).history_length == events


async def test_a_history_sealed_with_the_old_key_replays_after_rotation(
    temporal_dev_server: DevServer,
) -> None:
    queue = unique_task_queue("trust-rotate")
    old = KeyRing("k1", WORKER_KEY)
    plugin = RouterPlugin(ROUTER, workflows=ALL_WORKFLOWS, trust=trust_policy(old))
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    signer = SharedSecretSigner("svc", CALLER_KEY)
    async with Worker(client, task_queue=queue):
        vaults = RouterClient(client, ROUTER, task_queue=queue, credentials=signer)
        vault = f"vault-{uuid.uuid4().hex[:10]}"
        with caller_context(identity="tess", roles=("teller",)):
            await vaults.create(vault, initial_state="Open", data={})
            result = await vaults.dispatch(
                vault, {"type": "Exec", "payload": {"spec": {"tag": "sealed"}}}
            )
        assert result.ok, result.error
    history = await client.get_workflow_handle(vault).fetch_history()
    assert any(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in history.events
    )

    rotated = KeyRing("k2", KeyRing.generate(), previous={"k1": WORKER_KEY})
    replayer = Replayer(workflows=[], plugins=[RouterPlugin(ROUTER, trust=trust_policy(rotated))])
    assert (await replayer.replay_workflow(history)).replay_failure is None
    # The seals are checked again on replay: without the old key the answer is dropped,
    # and the handler that waited for it no longer finishes as recorded.
    stranger = Replayer(
        workflows=[],
        plugins=[RouterPlugin(ROUTER, trust=trust_policy(KeyRing("k3", KeyRing.generate())))],
    )
    assert (
        await stranger.replay_workflow(history, raise_on_replay_failure=False)
    ).replay_failure is not None


# -- what review found ------------------------------------------------------------------------


class _RawHeaders(Interceptor):
    """A plain client that adds raw header payloads to every start, signal and Update."""

    def __init__(self, headers: dict[str, Payload]) -> None:
        self.headers = headers

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        extra = self.headers

        class Outbound(OutboundInterceptor):
            async def start_workflow(self, input: Any) -> Any:
                input.headers = {**input.headers, **extra}
                return await super().start_workflow(input)

            async def signal_workflow(self, input: Any) -> None:
                input.headers = {**input.headers, **extra}
                await super().signal_workflow(input)

            async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
                input.headers = {**input.headers, **extra}
                return await super().start_workflow_update(input)

        return Outbound(next)


async def test_a_malformed_seal_never_fails_a_workflow_task(env: Env) -> None:
    bad = {
        CALLER_HEADER: PayloadConverter.default.to_payload({"identity": "eve"}),
        "temporal-router-caller-seal": Payload(
            metadata={"encoding": b"binary/plain"}, data="k1.é".encode()
        ),
        "temporal-router-seal": Payload(metadata={"encoding": b"binary/plain"}, data=b"\xff\xfe"),
    }
    attacker = await Client.connect(env.server.target, interceptors=[_RawHeaders(bad)])
    vault = await env.new_vault()
    await attacker.get_workflow_handle(vault).signal(HOOK_SIGNAL, {"id": "x", "data": 1})
    await attacker.get_workflow_handle(vault).signal(HOOK_REQUEST_SIGNAL, {"hook_id": "h"})
    reply = await attacker.get_workflow_handle(vault).execute_update(
        DISPATCH_UPDATE, {"type": "Deposit", "payload": {"amount": 1}}, id="bad-seal"
    )
    assert _forbidden(reply), reply  # anonymous: the malformed seal vouched for no one
    started = f"vault-{uuid.uuid4().hex[:10]}"
    handle = await attacker.start_workflow(
        VAULT.name, {"definition": VAULT.name, "create": {"initial_state": "Open", "data": {}}},
        id=started, task_queue=env.task_queue,
    )  # fmt: skip
    with pytest.raises(WorkflowFailureError):  # a refused creation, not a stuck task
        await asyncio.wait_for(handle.result(), 20)
    with caller_context(identity="tess", roles=("teller",)):
        ok = await env.vaults.dispatch(vault, {"type": "Deposit", "payload": {"amount": 2}})
    assert ok.ok, ok.error
    history = await env.client.get_workflow_handle(vault).fetch_history()
    assert not any(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events
    )


async def test_a_start_credential_does_not_vouch_for_commands(env: Env) -> None:
    vault = f"vault-{uuid.uuid4().hex[:10]}"
    signer = SharedSecretSigner("svc", CALLER_KEY)
    teller = _caller({"identity": "tess", "roles": ["teller"]})
    start_credential = signer.credential(
        teller, workflow_id=vault, command_id=None, purpose="start"
    )
    with caller_context(teller):
        await env.vaults.create(vault, initial_state="Open", data={})
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await env.raw_update(
            vault,
            {"type": "Deposit", "payload": {"amount": 10**6}},
            {CREDENTIAL_HEADER: start_credential},
        )
    assert "not for a update" in _refusal(caught.value)["message"]
    assert (await env.vaults.get(vault)).data.balance == 0


async def test_a_cron_start_with_a_crafted_snapshot_is_still_a_creation(env: Env) -> None:
    """Temporal's cron (and retry) runs reuse a client's input: only a worker's seal over a
    continue-as-new input makes it carried state."""
    vault = f"vault-{uuid.uuid4().hex[:10]}"
    crafted = {
        "definition": VAULT.name,
        "snapshot": dict(
            VAULT.serialize(
                VAULT.create_workflow(vault, initial_state="Open", data={"balance": 10**9})
            )
        ),
    }
    await env.raw.start_workflow(
        VAULT.name, crafted, id=vault, task_queue=env.task_queue, cron_schedule="* * * * *"
    )
    handle = env.client.get_workflow_handle(vault)
    first_run = (await handle.describe()).run_id

    async def cron_run_answer() -> str | None:
        if (await handle.describe()).run_id == first_run:
            return None
        try:
            return f"restored {await handle.query(SNAPSHOT_QUERY)}"
        except WorkflowQueryFailedError as exc:
            return str(exc)
        except RPCError:
            return None  # the cron run waits for its minute

    answer = await eventually(cron_run_answer, timeout=100, interval=1.0)
    assert "needs 'create'" in answer  # the crafted snapshot was not restored
    await handle.terminate("test over")


async def test_a_start_seal_copied_from_a_hook_start_vouches_for_nothing(env: Env) -> None:
    vault = await env.new_vault()
    with caller_context(identity="tess", roles=("teller",)):
        result = await env.vaults.dispatch(
            vault, {"type": "Exec", "payload": {"spec": {"tag": "t"}}}
        )
    assert result.ok, result.error
    [start] = await child_starts(env.client.get_workflow_handle(vault))
    copied = {k: v for k, v in start.header.fields.items()}
    assert "temporal-router-caller-seal" in copied
    attacker = await Client.connect(env.server.target, interceptors=[_RawHeaders(copied)])
    target = start.workflow_id + "-again"
    handle = await attacker.start_workflow(
        VAULT.name, {"definition": VAULT.name, "create": {"initial_state": "Open", "data": {"balance": 10**9}}},
        id=target, task_queue=env.task_queue,
    )  # fmt: skip
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 20)
    assert "creation refused" in str(caught.value.cause)


async def test_a_jwt_from_an_identity_provider_verifies_behind_a_worker(
    temporal_dev_server: DevServer,
) -> None:
    import jwt as pyjwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from temporal_router.adapter import JwtVerifier, StaticToken

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = JwtVerifier(keys=public.decode(), issuer="https://id.example", audience="vaults")
    trust = TrustPolicy(callers=verifier, internal_keys=KeyRing("k1", WORKER_KEY))
    queue = unique_task_queue("trust-jwt")
    client = await Client.connect(
        temporal_dev_server.target, plugins=[RouterPlugin(ROUTER, trust=trust)]
    )

    def token(roles: list[str]) -> str:
        claims = {"sub": "tess", "roles": roles, "iss": "https://id.example", "aud": "vaults",
                  "exp": int(datetime.now(UTC).timestamp()) + 300}  # fmt: skip
        return pyjwt.encode(claims, key, algorithm="ES256")

    async with Worker(client, task_queue=queue):
        teller = RouterClient(
            client, ROUTER, task_queue=queue, credentials=StaticToken(token(["teller"]))
        )
        clerk = RouterClient(
            client, ROUTER, task_queue=queue, credentials=StaticToken(token(["clerk"]))
        )
        vault = f"vault-{uuid.uuid4().hex[:10]}"
        await teller.create(vault, initial_state="Open", data={})
        ok = await teller.dispatch(vault, {"type": "Deposit", "payload": {"amount": 5}})
        assert ok.ok, ok.error
        refused = await clerk.dispatch(vault, {"type": "Deposit", "payload": {"amount": 5}})
        assert isinstance(refused.error, DomainFailure)
        assert (await teller.get(vault)).data.balance == 5
