"""Caller context: from caller_context / RouterClient(context=) on the client, through the
entity's router (middleware and handlers), activities, hooks three levels down and
continue-as-new.

The rule the adapter implements: each command's caller comes from its own update header;
a command sent without one acts for the caller that started the entity (the run's start
header), which continue-as-new carries to the next run.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client

from temporal_router import (
    Caller,
    Context,
    WorkflowRouter,
    caller_context,
    create_key,
    current_caller,
    define_workflow,
)
from temporal_router.adapter import RouterClient
from temporal_router.adapter._trust import (
    CALLER_HEADER,
    caller_from_headers,
    sealed_caller_headers,
)
from temporal_router.router._caller import reset_current_caller, set_current_caller
from temporal_router.testing import DevServer, unique_task_queue
from temporal_router.workflows import exec_hook

from ._hook_support import hook_client, ok_data
from ._hook_workflows import CallerAfterCan

# -- the probe entity ----------------------------------------------------------------------------


class Probe(BaseModel):
    seen: list[dict[str, Any]] = []


class Look(BaseModel):
    pass


class Pad(BaseModel):
    pass


probe = define_workflow(
    "CallerProbe",
    states={"Probing": Probe},
    commands={"Look": Look, "LookActivity": Look, "LookHook": Look, "Pad": Pad},
    events={},
    errors={},
)
probe_router = WorkflowRouter(probe)
MIDDLEWARE_SAW = create_key("middleware_saw")


def _who(caller: Caller | None) -> dict[str, Any] | None:
    if caller is None:
        return None
    return {
        "identity": caller.identity,
        "tenant": caller.tenant,
        "roles": list(caller.roles),
        "correlation_id": caller.correlation_id,
        "extra": dict(caller.extra),
    }


async def see_caller(ctx: Context, next: Callable[[], Awaitable[None]]) -> None:
    ctx.set(MIDDLEWARE_SAW, _who(ctx.caller))
    await next()


probe_router.use(see_caller)


def _record(ctx: Context, **more: Any) -> None:
    entry = {
        "command": ctx.command.type,
        "middleware": ctx.get(MIDDLEWARE_SAW),
        "handler": _who(ctx.caller),
        "run": workflow.info().run_id,
        **more,
    }
    ctx.update(seen=[*ctx.data.seen, entry])


@probe_router.state("Probing").on("Look")
def look(ctx: Context) -> None:
    _record(ctx)


@probe_router.state("Probing").on("Pad")
def pad(ctx: Context) -> None:
    pass


@activity.defn(name="caller_probe")
async def caller_probe() -> dict[str, Any] | None:
    return _who(current_caller())


@probe_router.state("Probing").on("LookActivity")
async def look_activity(ctx: Context) -> None:
    seen = await workflow.execute_activity(
        "caller_probe", start_to_close_timeout=timedelta(seconds=30), result_type=dict
    )
    _record(ctx, activity=seen)


@probe_router.state("Probing").on("LookHook")
async def look_hook(ctx: Context) -> None:
    answer = await exec_hook(
        task_queue=workflow.info().task_queue, workflow_name="WhoAmI", args=[2], timeout=30
    )
    _record(ctx, hook=answer)


class Env:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.probes = RouterClient(client, probe_router, task_queue=task_queue)

    async def new_probe(self, client: RouterClient | None = None) -> str:
        entity = f"probe-{uuid.uuid4().hex[:10]}"
        await (client or self.probes).create(entity, initial_state="Probing", data={})
        return entity

    async def last_seen(self, entity: str, command: str, client: RouterClient | None = None) -> Any:
        result = await (client or self.probes).dispatch(entity, {"type": command})
        return ok_data(result).seen[-1]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    queue = unique_task_queue("caller")
    async with hook_client(
        temporal_dev_server.target,
        [queue],
        probe_router,
        activities=[caller_probe],
        max_history_events=100,
    ) as client:
        yield Env(client, queue)


ADA = {"identity": "ada", "tenant": "acme", "roles": ["clerk"], "correlation_id": "req-1"}


def _as_seen(**fields: Any) -> dict[str, Any]:
    return {
        "identity": None,
        "tenant": None,
        "roles": [],
        "correlation_id": None,
        "extra": {},
        **fields,
    }


# -- on the client ---------------------------------------------------------------------------------


async def test_caller_context_reaches_middleware_and_handler(env: Env) -> None:
    entity = await env.new_probe()
    with caller_context(identity="ada", tenant="acme", roles=("clerk",), correlation_id="req-1"):
        seen = await env.last_seen(entity, "Look")
    assert seen["middleware"] == _as_seen(**ADA)
    assert seen["handler"] == _as_seen(**ADA)


async def test_router_client_context_reaches_middleware_and_handler(env: Env) -> None:
    bob = RouterClient(
        env.client,
        probe_router,
        task_queue=env.task_queue,
        context={"identity": "bob", "roles": ["admin"], "extra": {"ip": "10.0.0.1"}},
    )
    entity = await env.new_probe(bob)
    seen = await env.last_seen(entity, "Look", bob)
    expected = _as_seen(identity="bob", roles=["admin"], extra={"ip": "10.0.0.1"})
    assert seen["middleware"] == expected
    assert seen["handler"] == expected


async def test_caller_context_block_takes_precedence_over_the_client_default(env: Env) -> None:
    bob = RouterClient(
        env.client, probe_router, task_queue=env.task_queue, context=Caller(identity="bob")
    )
    entity = await env.new_probe(bob)
    with caller_context(identity="ada"):
        seen = await env.last_seen(entity, "Look", bob)
    assert seen["handler"]["identity"] == "ada"


async def test_nested_caller_context_refines_the_outer_one(env: Env) -> None:
    entity = await env.new_probe()
    with (
        caller_context(identity="ada", tenant="acme", extra={"a": 1}),
        caller_context(roles=["admin"], extra={"b": 2}),
    ):
        seen = await env.last_seen(entity, "Look")
    assert seen["handler"] == _as_seen(
        identity="ada", tenant="acme", roles=["admin"], extra={"a": 1, "b": 2}
    )


async def test_without_any_caller_ctx_caller_is_none(env: Env) -> None:
    entity = await env.new_probe()
    seen = await env.last_seen(entity, "Look")
    assert seen["middleware"] is None
    assert seen["handler"] is None


async def test_each_command_acts_for_its_own_caller(env: Env) -> None:
    with caller_context(identity="creator"):
        entity = await env.new_probe()
    with caller_context(identity="ada"):
        first = await env.last_seen(entity, "Look")
    with caller_context(identity="bob"):
        second = await env.last_seen(entity, "Look")
    # A command without caller is anonymous: it never acts for the entity's creator.
    third = await env.last_seen(entity, "Look")
    assert [s["handler"] and s["handler"]["identity"] for s in (first, second, third)] == [
        "ada",
        "bob",
        None,
    ]


async def test_an_update_s_caller_header_is_decoded_once(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The update's validator decodes the header; its handler (same header) reuses that."""
    from temporal_router.adapter import _trust

    entity = await env.new_probe()
    decoded: list[str | None] = []

    def counting(headers: Any) -> Caller | None:
        caller = caller_from_headers(headers)
        decoded.append(caller.identity if caller else None)
        return caller

    monkeypatch.setattr(_trust, "caller_from_headers", counting)
    seen = []
    for who in ("ada", "bob", "ada"):
        with caller_context(identity=who):
            seen.append((await env.last_seen(entity, "Look"))["handler"]["identity"])
    assert seen == ["ada", "bob", "ada"]
    assert decoded == ["ada", "bob", "ada"]


# -- downstream: activities and hooks -------------------------------------------------------------


async def test_caller_reaches_activities_started_by_handlers(env: Env) -> None:
    with caller_context(identity="creator"):
        entity = await env.new_probe()
    with caller_context(identity="ada", roles=["clerk"]):
        seen = await env.last_seen(entity, "LookActivity")
    assert seen["activity"] == _as_seen(identity="ada", roles=["clerk"])
    seen = await env.last_seen(entity, "LookActivity")
    assert seen["activity"] is None  # an anonymous command's activity is anonymous too


async def test_caller_reaches_a_hook_three_levels_down(env: Env) -> None:
    with caller_context(identity="creator"):
        entity = await env.new_probe()
    with caller_context(identity="ada", roles=["clerk", "auditor"]):
        seen = await env.last_seen(entity, "LookHook")
    answer = seen["hook"]
    assert answer["identity"] == "ada"
    assert answer["roles"] == ["clerk", "auditor"]
    chain = answer["depth_ids"]
    assert len(chain) == 3
    # Each level is a child of the one above: entity -> hook -> hook -> hook.
    parents = [
        (await env.client.get_workflow_handle(hook_id).describe()).parent_id for hook_id in chain
    ]
    assert parents == [entity, chain[0], chain[1]]


# -- continue-as-new ---------------------------------------------------------------------------------


async def test_callers_stay_per_command_after_the_entity_continues_as_new(env: Env) -> None:
    with caller_context(identity="creator", tenant="acme"):
        entity = await env.new_probe()
    before = await env.last_seen(entity, "Look")
    first_run = before["run"]
    assert before["handler"] is None
    for _ in range(40):  # about 5 events per command; the entity continues-as-new at 100
        result = await env.probes.dispatch(entity, {"type": "Pad"})
        assert result.ok, result.error
        if (await env.client.get_workflow_handle(entity).describe()).run_id != first_run:
            break
    else:
        pytest.fail("the entity did not continue-as-new")
    after = await env.last_seen(entity, "Look")
    assert after["run"] != first_run
    assert after["handler"] is None
    assert after["middleware"] == after["handler"]
    with caller_context(identity="ada", tenant="acme"):
        explicit = await env.last_seen(entity, "Look")
        explicit_activity = await env.last_seen(entity, "LookActivity")
    assert explicit["handler"] == _as_seen(identity="ada", tenant="acme")
    assert explicit_activity["activity"]["identity"] == "ada"


@pytest.mark.parametrize("identity", ["ada", None])
async def test_start_caller_survives_continue_as_new_of_a_plain_workflow(
    env: Env, identity: str | None
) -> None:
    with caller_context(Caller(identity=identity) if identity else None):
        seen = await env.client.execute_workflow(
            CallerAfterCan.run,
            args=[3, []],
            id=f"can-caller-{uuid.uuid4().hex[:10]}",
            task_queue=env.task_queue,
        )
    assert seen == [identity, identity, identity]


# -- units ---------------------------------------------------------------------------------------------


def test_caller_round_trips_through_its_dict_form() -> None:
    caller = Caller(
        identity="ada", tenant="acme", correlation_id="c", roles=("a", "b"), extra={"k": [1]}
    )
    assert caller.roles == ("a", "b")
    assert Caller.from_dict(caller.to_dict()) == caller
    assert Caller.from_dict({"identity": "x", "unknown": 1}) == Caller(identity="x")


def test_caller_rejects_one_string_as_roles_and_unknown_fields() -> None:
    with pytest.raises(TypeError, match="roles"):
        Caller(roles="admin")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown Caller fields"):
        Caller().merged(nickname="x")


def test_caller_header_round_trip_and_explicit_header_wins() -> None:
    headers = sealed_caller_headers({}, Caller(identity="ada"), None)
    assert caller_from_headers(headers) == Caller(identity="ada")
    assert sealed_caller_headers(headers, Caller(identity="bob"), None) == headers
    assert sealed_caller_headers({}, None, None) == {}
    assert caller_from_headers(None) is None


def test_a_malformed_caller_header_is_ignored() -> None:
    from temporalio.api.common.v1 import Payload

    bad = {CALLER_HEADER: Payload(metadata={"encoding": b"json/plain"}, data=b"{not json")}
    assert caller_from_headers(bad) is None


def test_resetting_a_caller_token_from_another_context_is_harmless() -> None:
    token = contextvars.copy_context().run(set_current_caller, Caller(identity="elsewhere"))
    reset_current_caller(token)
    assert current_caller() is None
