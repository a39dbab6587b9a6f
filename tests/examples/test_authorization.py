"""The authorization example: in memory, and on Temporal through entities and hooks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client

from examples.authorization import Forbidden, authorization, require_role
from temporal_router import (
    Caller,
    Context,
    DispatchResult,
    DomainFailure,
    WorkflowRouter,
    caller_context,
    define_workflow,
)
from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer, unique_task_queue
from temporal_router.workflows import exec_hook
from tests.adapter._hook_support import hook_client, ok_data


class Book(BaseModel):
    entries: list[str] = []
    hook_answers: list[Any] = []


class Post(BaseModel):
    text: str


class Enrich(BaseModel):
    text: str


class Peek(BaseModel):
    pass


ledger = define_workflow(
    "AuthorizedLedger",
    states={"Open": Book},
    commands={"Post": Post, "Enrich": Enrich, "Peek": Peek},
    events={},
    errors={"Forbidden": Forbidden},
)


def _author(ctx: Context) -> str:
    return ctx.caller.identity if ctx.caller and ctx.caller.identity else "?"


def ledger_router() -> WorkflowRouter:
    router = WorkflowRouter(ledger)

    @router.state("Open").on("Post")
    def post(ctx: Context) -> None:
        ctx.update(entries=[*ctx.data.entries, f"{_author(ctx)}:{ctx.command.payload.text}"])

    @router.state("Open").on("Enrich")
    async def enrich(ctx: Context) -> None:
        # The hook posts back to this entity through its router, then answers.
        text = ctx.command.payload.text
        answer = await exec_hook(
            task_queue=workflow.info().task_queue,
            workflow_name="HostEnricher",
            args=[{"commands": [{"type": "Post", "payload": {"text": text}}]}],
            timeout=30,
        )
        ctx.update(hook_answers=[*ctx.data.hook_answers, answer])

    @router.state("Open").on("Peek")
    def peek(ctx: Context) -> None:
        pass

    return router


def _forbidden(result: DispatchResult) -> Forbidden:
    assert not result.ok
    error = result.error
    assert isinstance(error, DomainFailure), error
    assert error.category == "domain"
    assert error.code == "Forbidden"
    assert isinstance(error.data, Forbidden)
    return error.data


# -- in memory -------------------------------------------------------------------------------------


async def test_in_memory_a_clerk_may_post() -> None:
    router = ledger_router().use(require_role("clerk"))
    wf = ledger.create_workflow("l", initial_state="Open", data={})
    result = await router.dispatch(
        wf, {"type": "Post", "payload": {"text": "hi"}}, caller=Caller("ada", roles=("clerk",))
    )
    assert result.ok, result.error
    assert ok_data(result).entries == ["ada:hi"]


@pytest.mark.parametrize(
    ("caller", "identity"),
    [
        (None, None),
        (Caller(roles=("clerk",)), None),  # a role but no identity
        (Caller("bob", roles=("viewer",)), "bob"),
    ],
    ids=["no-caller", "no-identity", "wrong-role"],
)
async def test_in_memory_others_get_the_forbidden_domain_error(
    caller: Caller | None, identity: str | None
) -> None:
    router = ledger_router().use(require_role("clerk"))
    wf = ledger.create_workflow("l", initial_state="Open", data={})
    result = await router.dispatch(wf, {"type": "Post", "payload": {"text": "hi"}}, caller=caller)
    assert _forbidden(result) == Forbidden(required_role="clerk", command="Post", identity=identity)


async def test_in_memory_the_rule_can_cover_some_commands_only() -> None:
    router = ledger_router().use(require_role("clerk", commands={"Post"}))
    wf = ledger.create_workflow("l", initial_state="Open", data={})
    assert (await router.dispatch(wf, {"type": "Peek", "payload": {}})).ok
    assert not (await router.dispatch(wf, {"type": "Post", "payload": {"text": "x"}})).ok


# -- on Temporal -----------------------------------------------------------------------------------


class Env:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.ledgers = RouterClient(client, ROUTER, task_queue=task_queue)
        self.client = client

    async def new_ledger(self) -> str:
        entity = f"ledger-{uuid.uuid4().hex[:10]}"
        await self.ledgers.create(entity, initial_state="Open", data={})
        return entity


ROUTER = ledger_router()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    queue = unique_task_queue("authorization")
    async with hook_client(
        temporal_dev_server.target, [queue], ROUTER, extensions=[authorization("clerk")]
    ) as client:
        yield Env(client, queue)


async def test_an_allowed_caller_succeeds(env: Env) -> None:
    entity = await env.new_ledger()
    with caller_context(identity="ada", roles=["clerk"]):
        result = await env.ledgers.dispatch(entity, {"type": "Post", "payload": {"text": "hi"}})
    assert ok_data(result).entries == ["ada:hi"]


async def test_router_client_context_is_enough(env: Env) -> None:
    entity = await env.new_ledger()
    ada = RouterClient(
        env.client,
        ROUTER,
        task_queue=env.ledgers.task_queue,
        context={"identity": "ada", "roles": ["clerk"]},
    )
    result = await ada.dispatch(entity, {"type": "Post", "payload": {"text": "via client"}})
    assert ok_data(result).entries == ["ada:via client"]


async def test_a_caller_without_identity_gets_a_domain_error(env: Env) -> None:
    entity = await env.new_ledger()
    result = await env.ledgers.dispatch(entity, {"type": "Post", "payload": {"text": "hi"}})
    assert _forbidden(result) == Forbidden(required_role="clerk", command="Post", identity=None)
    with caller_context(roles=["clerk"]):
        result = await env.ledgers.dispatch(entity, {"type": "Post", "payload": {"text": "hi"}})
    assert _forbidden(result).identity is None
    assert (await env.ledgers.get(entity)).version == 1  # nothing was applied


async def test_a_caller_without_the_role_gets_a_domain_error(env: Env) -> None:
    entity = await env.new_ledger()
    with caller_context(identity="bob", roles=["viewer"]):
        result = await env.ledgers.dispatch(entity, {"type": "Post", "payload": {"text": "hi"}})
    assert _forbidden(result) == Forbidden(required_role="clerk", command="Post", identity="bob")


async def test_the_identity_reaches_the_hook_and_the_commands_it_sends_back(env: Env) -> None:
    entity = await env.new_ledger()
    with caller_context(identity="ada", roles=["clerk"]):
        result = await env.ledgers.dispatch(
            entity, {"type": "Enrich", "payload": {"text": "from-hook"}}
        )
    data = ok_data(result)
    [answer] = data.hook_answers
    assert answer["caller"] == "ada"  # the hook workflow's own handler saw the caller
    [reply] = answer["replies"]
    # Its command back to the host passed the authorization middleware as ada.
    assert reply["ok"] is True, reply
    assert data.entries == ["ada:from-hook"]


async def test_a_hook_started_by_a_forbidden_caller_never_runs(env: Env) -> None:
    entity = await env.new_ledger()
    with caller_context(identity="bob", roles=["viewer"]):
        result = await env.ledgers.dispatch(entity, {"type": "Enrich", "payload": {"text": "x"}})
    assert _forbidden(result).command == "Enrich"
    history = await env.client.get_workflow_handle(entity).fetch_history()
    assert not any(
        e.HasField("start_child_workflow_execution_initiated_event_attributes")
        for e in history.events
    )
