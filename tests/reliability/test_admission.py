"""No input destroys or wedges an entity: admission limits, input rules, bounded state.

Each attack goes in through ``RouterClient`` and, where a client could bypass it, through a
plain temporalio client (default converter, no plugin) or the ``temporal`` CLI: the command
is refused with a clear, categorised error, the entity stays Running with its state and
version unchanged, a refusal writes no history, and the next command is answered.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Replayer, Worker

from temporal_router import (
    Context,
    RouterFailure,
    UnexpectedFailure,
    ValidationError,
    ValidationFailure,
    WorkflowRouter,
    caller_context,
    define_workflow,
)
from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer, find_temporal_cli, unique_task_queue
from temporal_router.workflows import DISPATCH_UPDATE, HOOK_REQUEST_SIGNAL, HOOK_SIGNAL, LIMITS

from ._app import bounded, eventually, history_length

# -- the entity under attack ------------------------------------------------------------------


class Sized(BaseModel):
    ids: list[str] = []
    kept: str = ""
    value: float | None = None


class Add(BaseModel):
    cid: str


class Blob(BaseModel):
    blob: str = ""


class Empty(BaseModel):
    pass


class Added(BaseModel):
    cid: str


SIZED = define_workflow(
    "RelSized",
    states={"Open": Sized},
    commands={"Add": Add, "Stuff": Blob, "Keep": Blob, "MakeNan": Empty, "Anything": Empty},
    events={"Added": Added},
    errors={},
)


def build_router() -> WorkflowRouter:
    router = WorkflowRouter(SIZED)
    state = router.state("Open")
    state.on("Add", lambda ctx: ctx.update(ids=[*ctx.data.ids, ctx.command.payload.cid]))
    state.on("Stuff", lambda ctx: ctx.update(ids=[*ctx.data.ids, "stuff"]))
    state.on("Keep", lambda ctx: ctx.update(kept=ctx.data.kept + ctx.command.payload.blob))
    state.on("Anything", lambda ctx: ctx.update(ids=[*ctx.data.ids, "anything"]))

    def make_nan(ctx: Context) -> None:
        ctx.update(value=math.nan)

    state.on("MakeNan", make_nan)
    return router


ROUTER = build_router()
MAX_HISTORY = 100


@dataclass
class Env:
    server: DevServer
    client: Client
    raw: Client
    entities: RouterClient
    task_queue: str

    def new_id(self, prefix: str = "sized") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    async def new_entity(self, prefix: str = "sized") -> str:
        entity = self.new_id(prefix)
        await self.entities.create(entity, initial_state="Open", data={})
        return entity

    async def state(self, entity: str) -> tuple[Any, int, int]:
        snapshot = await self.entities.get(entity)
        return snapshot.workflow, snapshot.version, await history_length(self.client, entity)

    async def status(self, entity: str) -> WorkflowExecutionStatus | None:
        return (await self.client.get_workflow_handle(entity).describe()).status

    async def assert_healthy(self, entity: str) -> None:
        """Running, and it answers a command."""
        assert await self.status(entity) == WorkflowExecutionStatus.RUNNING
        probe = await asyncio.wait_for(
            self.entities.dispatch(entity, {"type": "Add", "payload": {"cid": "probe"}}), 30
        )
        assert probe.ok, probe.error

    async def raw_update(self, entity: str, request: Any, **kwargs: Any) -> Any:
        return await self.raw.get_workflow_handle(entity).execute_update(
            DISPATCH_UPDATE, request, id=str(uuid.uuid4()), **kwargs
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    queue = unique_task_queue("admission")
    plugin = RouterPlugin(ROUTER, max_history_events=MAX_HISTORY)
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    raw = await Client.connect(temporal_dev_server.target)
    async with Worker(client, task_queue=queue):
        yield Env(
            temporal_dev_server, client, raw, RouterClient(client, ROUTER, task_queue=queue), queue
        )


def _refusal(exc: BaseException) -> dict[str, Any]:
    """The wire error of a command the entity's validator refused."""
    assert isinstance(exc, WorkflowUpdateFailedError), exc
    cause = exc.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == "TemporalRouterRejected", cause
    detail = cause.details[0]
    assert isinstance(detail, Mapping)
    return dict(detail)


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


# -- sizes and bursts ---------------------------------------------------------------------------


@bounded(120)
async def test_concurrent_commands_of_any_mix_of_sizes_end_applied_or_refused(env: Env) -> None:
    entity = await env.new_entity()
    near = LIMITS.max_command_bytes - 2_000
    commands = [
        *({"type": "Stuff", "payload": {"blob": "v" * near}} for _ in range(6)),
        *({"type": "Add", "payload": {"cid": 7, "pad": "i" * near}} for _ in range(6)),
        *({"type": "Stuff", "payload": {"blob": "o" * 3 * near}} for _ in range(3)),
    ]
    _, version, _ = await env.state(entity)
    results = await asyncio.wait_for(
        asyncio.gather(*(env.entities.dispatch(entity, c) for c in commands)), 90
    )
    applied = [r for r in results if r.ok]
    refused = [r for r in results if not r.ok]
    assert len(applied) == 6, [r.error for r in refused]
    assert all(isinstance(r.error, ValidationFailure) for r in refused), refused
    assert (await env.state(entity))[1] == version + 6
    await env.assert_healthy(entity)


@bounded(120)
async def test_a_raw_flood_of_large_updates_never_terminates_the_entity(env: Env) -> None:
    """Ten 1.5 MB Updates at once, each under Temporal's payload limit: before admission
    control the task that accepted them was too large for the server, which terminated the
    entity."""
    entity = await env.new_entity()
    before = await env.state(entity)
    request = {"type": "Stuff", "payload": {"blob": "x" * 1_500_000}}
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(env.raw_update(entity, request) for _ in range(10)), return_exceptions=True
        ),
        90,
    )
    for outcome in outcomes:
        if isinstance(outcome, WorkflowUpdateFailedError):
            refused = _refusal(outcome)
            assert (refused["category"], "too large" in refused["message"]) == ("validation", True)
        else:  # the server refused to admit it at all
            assert isinstance(outcome, RPCError), outcome
    assert await env.state(entity) == before
    await env.assert_healthy(entity)


@bounded(120)
async def test_a_raw_burst_of_valid_and_invalid_commands_under_the_limit(env: Env) -> None:
    entity = await env.new_entity()
    near = LIMITS.max_command_bytes - 2_000
    valid = {"type": "Stuff", "payload": {"blob": "v" * near}}
    invalid = {"type": "Add", "payload": {"cid": 1, "pad": "i" * near}}
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(env.raw_update(entity, c) for c in [valid, invalid] * 5), return_exceptions=True
        ),
        90,
    )
    # Each invalid command is refused as invalid; each valid one is applied, or refused as
    # BUSY when its workflow task's budget is spent, never as invalid.
    for outcome in outcomes[1::2]:
        assert _refusal(outcome)["category"] == "validation"
    applied = 0
    for outcome in outcomes[0::2]:
        if isinstance(outcome, BaseException):
            assert _refusal(outcome).get("code") == "BUSY", outcome
        else:
            assert outcome["ok"] is True, outcome
            applied += 1
    assert applied >= 1  # the first one into an idle entity always fits
    await env.assert_healthy(entity)


# -- input rules --------------------------------------------------------------------------------


@bounded(60)
async def test_deep_json_is_refused_by_the_client_and_by_the_validator(env: Env) -> None:
    entity = await env.new_entity()
    before = await env.state(entity)
    deep = {"type": "Add", "payload": {"cid": "x", "nested": _deep(200)}}

    result = await env.entities.dispatch(entity, deep)
    assert isinstance(result.error, ValidationFailure), result
    assert "nested deeper than 32 levels" in result.error.message
    assert "payload.nested.d.d" in result.error.message

    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await env.raw_update(entity, deep)
    refused = _refusal(caught.value)
    assert refused["category"] == "validation"
    assert "nested deeper than" in refused["message"]
    assert await env.state(entity) == before
    await env.assert_healthy(entity)


@bounded(60)
async def test_deep_json_through_the_temporal_cli_is_refused(env: Env) -> None:
    entity = await env.new_entity()
    before = await env.state(entity)
    request = json.dumps({"type": "Add", "payload": {"cid": "x", "n": _deep(100)}})
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
            entity,
            "--name",
            DISPATCH_UPDATE,
            "--input",
            request,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert "nested deeper than" in completed.stderr + completed.stdout
    assert await env.state(entity) == before
    await env.assert_healthy(entity)


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@bounded(60)
async def test_nan_and_infinity_are_refused_not_stored_as_null(env: Env, number: float) -> None:
    entity = await env.new_entity()
    before = await env.state(entity)
    command = {"type": "Add", "payload": {"cid": "x", "amount": number}}

    result = await env.entities.dispatch(entity, command)
    assert isinstance(result.error, ValidationFailure), result
    assert "payload.amount" in result.error.message
    assert "not a JSON number" in result.error.message

    # temporalio's default JSON converter writes NaN and Infinity as JSON does not allow.
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await env.raw_update(entity, command)
    assert "not a JSON number" in _refusal(caught.value)["message"]
    assert await env.state(entity) == before


@bounded(60)
async def test_a_handler_that_makes_nan_fails_the_command_and_changes_nothing(env: Env) -> None:
    entity = await env.new_entity()
    before = await env.state(entity)
    result = await env.entities.dispatch(entity, {"type": "MakeNan", "payload": {}})
    assert isinstance(result.error, UnexpectedFailure), result
    assert "result.data.value" in result.error.message
    assert (await env.state(entity))[:2] == before[:2]
    await env.assert_healthy(entity)


@pytest.mark.parametrize(
    ("id", "command_id", "expected_version", "field"),
    [
        ("", None, None, "id"),
        ("   ", None, None, "id"),
        ("bad-\ud800-id", None, None, "id"),
        ("x" * (LIMITS.max_id_length + 1), None, None, "id"),
        (None, "", None, "command_id"),
        (None, "c-\udfff", None, "command_id"),
        (None, None, "3", "expected_version"),
        (None, None, True, "expected_version"),
        (None, None, -1, "expected_version"),
        (None, None, 1.5, "expected_version"),
        (None, None, 10**30, "expected_version"),
    ],
)
@bounded(60)
async def test_bad_ids_and_versions_are_validation_errors_naming_the_field(
    env: Env, id: str | None, command_id: str | None, expected_version: Any, field: str
) -> None:
    entity = await env.new_entity()
    before = await env.state(entity)
    result = await env.entities.dispatch(
        entity if id is None else id,
        {"type": "Add", "payload": {"cid": "x"}},
        command_id=command_id,
        expected_version=expected_version,
    )
    assert isinstance(result.error, ValidationFailure), result
    assert field in result.error.message
    assert await env.state(entity) == before


@bounded(60)
async def test_create_checks_ids_data_and_size_before_anything_starts(env: Env) -> None:
    for entity, data in [
        ("", {}),
        ("ok-\ud800", {}),
        (env.new_id(), {"ids": [], "value": math.nan}),
        (env.new_id(), {"kept": "x" * 1_900_000}),
    ]:
        with pytest.raises(ValidationError):
            await env.entities.create(entity, initial_state="Open", data=data)
        if entity.isascii() and entity:
            with pytest.raises(RPCError):
                await env.client.get_workflow_handle(entity).describe()


@bounded(60)
async def test_a_raw_start_with_oversized_data_fails_the_run_instead_of_wedging(env: Env) -> None:
    entity = env.new_id("raw-start")
    handle = await env.raw.start_workflow(
        SIZED.name,
        {
            "definition": SIZED.name,
            "create": {"initial_state": "Open", "data": {"kept": "x" * 900_000}},
        },
        id=entity,
        task_queue=env.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 30)
    assert "state is too large" in str(caught.value.cause)


# -- headers ------------------------------------------------------------------------------------


class _HeaderStuffer(Interceptor):
    """A raw client that adds one big header to every Update."""

    def __init__(self, size: int) -> None:
        self.size = size

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        size = self.size

        class Outbound(OutboundInterceptor):
            async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
                input.headers = {
                    **input.headers,
                    "padding": Payload(metadata={"encoding": b"binary/plain"}, data=b"h" * size),
                }
                return await super().start_workflow_update(input)

        return Outbound(next)


@bounded(60)
async def test_oversized_headers_are_refused_and_oversized_callers_never_sent(env: Env) -> None:
    entity = await env.new_entity()
    before = await env.state(entity)
    stuffer = await Client.connect(
        env.server.target, interceptors=[_HeaderStuffer(LIMITS.max_header_bytes + 1_000)]
    )
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await stuffer.get_workflow_handle(entity).execute_update(
            DISPATCH_UPDATE, {"type": "Add", "payload": {"cid": "x"}}, id=str(uuid.uuid4())
        )
    refused = _refusal(caught.value)
    assert refused["category"] == "validation"
    assert "headers of the command too large" in refused["message"]

    with caller_context(identity="x" * (LIMITS.max_caller_bytes + 100)):
        result = await env.entities.dispatch(entity, {"type": "Add", "payload": {"cid": "x"}})
    assert isinstance(result.error, ValidationFailure), result
    assert "caller too large" in result.error.message
    assert await env.state(entity) == before
    await env.assert_healthy(entity)


# -- bounded state across continue-as-new -------------------------------------------------------


async def _carried_input_size(env: Env, entity: str) -> int:
    history = await env.client.get_workflow_handle(entity).fetch_history()
    start = history.events[0].workflow_execution_started_event_attributes
    return sum(p.ByteSize() for p in start.input.payloads)


async def _continued(env: Env, entity: str, run_id: str | None) -> bool:
    return (await env.client.get_workflow_handle(entity).describe()).run_id != run_id


@bounded(180)
async def test_a_flood_of_hook_answers_is_bounded_and_the_entity_still_continues_as_new(
    env: Env,
) -> None:
    entity = await env.new_entity()
    first_run = (await env.client.get_workflow_handle(entity).describe()).run_id
    handle = env.raw.get_workflow_handle(entity)
    for n in range(30):  # answers nobody waits for, 80 KB each: 2.4 MB in all
        await handle.signal(HOOK_SIGNAL, {"id": f"junk-{n}", "data": "a" * 80_000})
    for n in range(5):  # and signals that are no answer at all
        await handle.signal(HOOK_SIGNAL, ["not", "an", "answer", n])
    for n in range(40):
        result = await env.entities.dispatch(entity, {"type": "Add", "payload": {"cid": f"c{n}"}})
        assert result.ok, result.error
    await eventually(lambda: _continued(env, entity, first_run), timeout=60)
    size = await _carried_input_size(env, entity)
    assert size <= LIMITS.max_carry_bytes, size
    await env.assert_healthy(entity)


@bounded(300)
async def test_a_thousand_remembered_replies_never_push_the_carried_input_past_the_limit(
    env: Env,
) -> None:
    entity = await env.new_entity()
    kept = await env.entities.dispatch(entity, {"type": "Keep", "payload": {"blob": "k" * 4_000}})
    assert kept.ok, kept.error
    runs: set[str | None] = set()
    for n in range(1_000):
        result = await env.entities.dispatch(
            entity, {"type": "Add", "payload": {"cid": f"c{n}"}}, command_id=f"{entity}-{n}"
        )
        assert result.ok, result.error
        if n % 100 == 99:
            runs.add((await env.client.get_workflow_handle(entity).describe()).run_id)
            assert await _carried_input_size(env, entity) <= LIMITS.max_carry_bytes
    assert len(runs) > 1
    # A retried id is answered, never applied twice.
    _, version, _ = await env.state(entity)
    again = await env.entities.dispatch(
        entity, {"type": "Add", "payload": {"cid": "c0"}}, command_id=f"{entity}-0"
    )
    assert again.ok or (
        isinstance(again.error, RouterFailure) and again.error.code == "ALREADY_APPLIED"
    )
    assert (await env.state(entity))[1] == version


async def test_the_limits_are_those_the_docs_state() -> None:
    assert (LIMITS.max_command_bytes, LIMITS.max_reply_bytes, LIMITS.max_carry_bytes) == (
        256 * 1024,
        512 * 1024,
        1024 * 1024,
    )


@bounded(120)
async def test_replies_past_a_tasks_budget_go_out_with_the_next_task_and_replay(
    env: Env,
) -> None:
    entity = await env.new_entity()
    part = LIMITS.max_command_bytes * 4 // 5
    for _ in range(2):  # each reply then carries this much state, twice over
        kept = await env.entities.dispatch(
            entity, {"type": "Keep", "payload": {"blob": "k" * part}}
        )
        assert kept.ok, kept.error
    results = await asyncio.wait_for(
        asyncio.gather(
            *(
                env.entities.dispatch(entity, {"type": "Add", "payload": {"cid": f"c{n}"}})
                for n in range(8)
            )
        ),
        90,
    )
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    history = await env.client.get_workflow_handle(entity).fetch_history()
    timers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    assert timers, "no reply went out with a later task"
    replayer = Replayer(
        workflows=[], plugins=[RouterPlugin(ROUTER, max_history_events=MAX_HISTORY)]
    )
    assert (await replayer.replay_workflow(history)).replay_failure is None
    await env.assert_healthy(entity)


@bounded(180)
async def test_ten_callers_at_a_state_near_the_limit_never_terminate_the_entity(
    env: Env,
) -> None:
    """Replies near the reply limit, ten callers keeping a command each in flight: replies
    go out one task at a time, and new commands wait (BUSY) while the entity continues as
    new, so neither a task completion nor the history outgrows what the server accepts."""
    entity = await env.new_entity()
    part = LIMITS.max_command_bytes - 10_000
    for _ in range(2):
        kept = await env.entities.dispatch(
            entity, {"type": "Keep", "payload": {"blob": "k" * part}}
        )
        assert kept.ok, kept.error
    callers = RouterClient(
        env.client, ROUTER, task_queue=env.task_queue, max_in_flight_per_entity=10
    )
    first_run = (await env.client.get_workflow_handle(entity).describe()).run_id
    stop = asyncio.get_running_loop().time() + 15
    outcomes: list[str] = []

    async def caller(n: int) -> None:
        i = 0
        while asyncio.get_running_loop().time() < stop:
            i += 1
            result = await callers.dispatch(entity, {"type": "Add", "payload": {"cid": f"{n}-{i}"}})
            outcomes.append("ok" if result.ok else f"{result.error}")

    await asyncio.wait_for(asyncio.gather(*(caller(n) for n in range(10))), 150)
    assert outcomes.count("ok") == len(outcomes), set(outcomes) - {"ok"}
    assert outcomes.count("ok") > 20
    assert (await env.client.get_workflow_handle(entity).describe()).run_id != first_run
    await env.assert_healthy(entity)


# -- what review found: every raw shape of the internal signals, and carried state ----------


def _raw(encoding: bytes, data: bytes = b"") -> RawValue:
    return RawValue(Payload(metadata={"encoding": encoding}, data=data))


@pytest.mark.parametrize(
    "request_",
    [
        {"hook_id": "h", "task_queue": "q", "workflow_name": "W", "args": ["a" * 1_400_000]},
        {"hook_id": "h", "task_queue": "q", "workflow_name": "", "args": []},
        {"hook_id": "h" * 1_500, "task_queue": "q", "workflow_name": "W", "args": []},
        {
            "hook_id": "h",
            "task_queue": "q",
            "workflow_name": "W",
            "config": {"maximum_attempts": 2**40},
        },
        {
            "hook_id": "h",
            "task_queue": "q",
            "workflow_name": "W",
            "config": {"initial_interval": 1e300},
        },
        _raw(b"binary/null"),
        _raw(b"json/plain", b"[1, 2]"),
    ],
    ids=["big-args", "no-type", "long-id", "attempts", "interval", "binary-null", "json-list"],
)
@bounded(60)
async def test_a_raw_hook_request_that_cannot_start_is_dropped(env: Env, request_: Any) -> None:
    entity = await env.new_entity()
    handle = env.raw.get_workflow_handle(entity)
    for _ in range(3):
        await handle.signal(HOOK_REQUEST_SIGNAL, request_)
    await env.assert_healthy(entity)  # the command after the signals was answered
    history = await env.client.get_workflow_handle(entity).fetch_history()
    assert not any(
        e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
        for e in history.events
    )
    assert not any(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events
    )


@pytest.mark.parametrize(
    "answer",
    [_raw(b"binary/null"), _raw(b"binary/plain", b"x"), _raw(b"json/plain", b"null")],
    ids=["binary-null", "binary-plain", "json-null"],
)
@bounded(60)
async def test_a_hook_answer_in_another_encoding_is_dropped(env: Env, answer: RawValue) -> None:
    entity = await env.new_entity()
    await env.raw.get_workflow_handle(entity).signal(HOOK_SIGNAL, answer)
    await env.assert_healthy(entity)


@bounded(180)
async def test_a_flood_of_large_hook_failures_stays_within_the_carried_limit(env: Env) -> None:
    entity = await env.new_entity()
    first_run = (await env.client.get_workflow_handle(entity).describe()).run_id
    handle = env.raw.get_workflow_handle(entity)
    for n in range(20):
        await handle.signal(HOOK_SIGNAL, {"id": f"f{n}", "error": {"message": "m" * 120_000}})
    for n in range(40):
        result = await env.entities.dispatch(entity, {"type": "Add", "payload": {"cid": f"c{n}"}})
        assert result.ok, result.error
    await eventually(lambda: _continued(env, entity, first_run), timeout=60)
    assert await _carried_input_size(env, entity) <= LIMITS.max_carry_bytes
    await env.assert_healthy(entity)


@bounded(120)
async def test_a_retried_command_id_is_held_to_the_same_limits(env: Env) -> None:
    """After continue-as-new the server no longer knows a command id; the entity does, and
    answers a retry from memory, but only a retry it would take as a new command."""
    entity = await env.new_entity()
    first_run = (await env.client.get_workflow_handle(entity).describe()).run_id
    applied = await env.entities.dispatch(
        entity, {"type": "Add", "payload": {"cid": "x"}}, command_id=f"{entity}-once"
    )
    assert applied.ok, applied.error
    for n in range(40):
        result = await env.entities.dispatch(entity, {"type": "Add", "payload": {"cid": f"c{n}"}})
        assert result.ok, result.error
    await eventually(lambda: _continued(env, entity, first_run), timeout=60)
    before = await env.state(entity)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await env.raw.get_workflow_handle(entity).execute_update(
            DISPATCH_UPDATE,
            {"type": "Add", "payload": {"cid": "y", "pad": "p" * 1_000_000}},
            id=f"{entity}-once",
        )
    assert "too large" in _refusal(caught.value)["message"]
    assert await env.state(entity) == before


@pytest.mark.parametrize(
    "request_",
    [_raw(b"binary/null"), _raw(b"binary/plain", b"x"), _raw(b"json/plain", b"[]")],
    ids=["binary-null", "binary-plain", "json-list"],
)
@bounded(60)
async def test_an_update_in_another_encoding_is_a_validation_refusal(
    env: Env, request_: RawValue
) -> None:
    entity = await env.new_entity()
    before = await env.state(entity)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await env.raw_update(entity, request_)
    refused = _refusal(caught.value)
    assert refused["category"] == "validation"
    assert "not a dispatch request" in refused["message"]
    assert await env.state(entity) == before


@bounded(180)
async def test_a_raw_start_carrying_oversized_state_is_held_to_the_limits(env: Env) -> None:
    """Without a key ring (development) a raw start may carry a snapshot; what it carries
    is held to the same bounds as the entity's own continue-as-new."""
    entity = env.new_id("raw-carry")
    snapshot = SIZED.serialize(SIZED.create_workflow(entity, initial_state="Open", data={}))
    outbox = [
        {"workflow_id": f"t{n}", "workflow_type": "RelSized", "type": "Add",
         "payload": {"cid": "x" * 2_000}, "command_id": f"c{n}"}
        for n in range(300)
    ]  # fmt: skip
    inbox = {"signals": {f"s{n}": ["a" * 60_000] for n in range(20)}, "failures": {}}
    await env.raw.start_workflow(
        SIZED.name,
        {"definition": SIZED.name, "snapshot": dict(snapshot), "outbox": outbox,
         "hook_state": {"inbox": inbox}},
        id=entity,
        task_queue=env.task_queue,
    )  # fmt: skip
    first_run = (await env.client.get_workflow_handle(entity).describe()).run_id
    for n in range(40):
        result = await env.entities.dispatch(entity, {"type": "Add", "payload": {"cid": f"c{n}"}})
        assert result.ok, result.error
    await eventually(lambda: _continued(env, entity, first_run), timeout=90)
    assert await _carried_input_size(env, entity) <= LIMITS.max_carry_bytes
    await env.assert_healthy(entity)
