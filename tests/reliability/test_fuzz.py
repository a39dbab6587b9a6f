"""Fuzz: random JSON, in bursts, through RouterClient and through a raw temporalio client.

Payloads of every JSON shape and a few that are not JSON at all: sizes up to and past the
command limit, nesting past the depth limit, any Unicode (lone surrogates included), huge
integers, NaN and infinities, concurrent bursts of up to six. After every burst the entity
is Running and answers the next command; its version grew by the commands applied, and a
burst that was refused whole wrote no history.

CI runs a bounded number of examples; set ``FUZZ_EXAMPLES`` for a longer run by hand.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.worker import Worker

from temporal_router import DispatchResult, RouterFailure, ValidationFailure
from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer, unique_task_queue
from temporal_router.workflows import DISPATCH_UPDATE, LIMITS

from ._app import history_length
from .test_admission import ROUTER, _deep

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# -- strategies ---------------------------------------------------------------------------------

_LIMIT = LIMITS.max_command_bytes
any_text = st.text(st.characters(codec=None, categories=None), max_size=12)
numbers = st.integers(min_value=-(2**70), max_value=2**70) | st.floats(
    allow_nan=True, allow_infinity=True
)
sized_text = st.sampled_from([0, 10, _LIMIT // 2, _LIMIT - 300, _LIMIT + 10, 3 * _LIMIT]).map(
    lambda n: "s" * n
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | any_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=10,
)
payloads = st.one_of(
    st.dictionaries(any_text, json_values, max_size=4),
    st.builds(lambda cid: {"cid": cid}, any_text | sized_text),
    st.builds(lambda blob: {"blob": blob}, sized_text | any_text),
    st.builds(lambda depth: {"cid": "deep", "n": _deep(depth)}, st.integers(20, 120)),
    json_values,
)
command_types = st.sampled_from(["Add", "Stuff", "Keep", "Anything", "Nope", ""])
commands = st.builds(lambda t, p: {"type": t, "payload": p}, command_types, payloads)
bursts = st.lists(commands, min_size=1, max_size=6)


@dataclass
class Env:
    client: Client
    raw: Client
    entities: RouterClient

    async def new_entity(self) -> str:
        entity = f"fuzz-{uuid.uuid4().hex[:10]}"
        await self.entities.create(entity, initial_state="Open", data={})
        return entity

    async def check_after_burst(
        self, entity: str, version: int, events: int, applied: int, *, refused_whole: bool
    ) -> None:
        handle = self.client.get_workflow_handle(entity)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        snapshot = await self.entities.get(entity)
        assert snapshot.version == version + applied
        if refused_whole:
            assert await history_length(self.client, entity) == events, "a refusal wrote history"
        probe = await asyncio.wait_for(
            self.entities.dispatch(entity, {"type": "Add", "payload": {"cid": "probe"}}), 30
        )
        assert probe.ok, probe.error


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    queue = unique_task_queue("fuzz")
    client = await Client.connect(temporal_dev_server.target, plugins=[RouterPlugin(ROUTER)])
    raw = await Client.connect(temporal_dev_server.target)
    async with Worker(client, task_queue=queue):
        yield Env(client, raw, RouterClient(client, ROUTER, task_queue=queue))


def _refused_at_admission(result: DispatchResult) -> bool:
    """Refused before anything reached history: by the client or the entity's validator."""
    error = result.error
    return isinstance(error, ValidationFailure) or (
        isinstance(error, RouterFailure) and error.code in ("UNKNOWN_COMMAND", "BUSY")
    )


@FUZZ
@given(burst=bursts)
async def test_fuzz_through_router_client(env: Env, burst: list[dict[str, Any]]) -> None:
    entity = await env.new_entity()
    before = await env.entities.get(entity)
    events = await history_length(env.client, entity)
    results = await asyncio.wait_for(
        asyncio.gather(*(env.entities.dispatch(entity, c) for c in burst)), 120
    )
    for result in results:
        event("ok" if result.ok else f"{result.error.category}" if result.error else "?")
        assert result.ok or result.error is not None
    applied = sum(r.ok for r in results)
    await env.check_after_burst(
        entity,
        before.version,
        events,
        applied,
        refused_whole=all(_refused_at_admission(r) for r in results),
    )


@FUZZ
@given(burst=st.lists(commands | json_values, min_size=1, max_size=6))
async def test_fuzz_through_a_raw_client(env: Env, burst: list[Any]) -> None:
    entity = await env.new_entity()
    before = await env.entities.get(entity)
    events = await history_length(env.client, entity)
    handle = env.raw.get_workflow_handle(entity)

    async def send(request: Any) -> str:
        try:
            reply = await handle.execute_update(DISPATCH_UPDATE, request, id=str(uuid.uuid4()))
        except WorkflowUpdateFailedError:
            return "refused"
        except (RPCError, TypeError, ValueError, OverflowError, UnicodeError):
            return "not sent"  # the server refused it, or the converter could not encode it
        return "applied" if reply["ok"] else "failed"

    outcomes = await asyncio.wait_for(asyncio.gather(*(send(r) for r in burst)), 120)
    for outcome in outcomes:
        event(outcome)
    await env.check_after_burst(
        entity,
        before.version,
        events,
        outcomes.count("applied"),
        refused_whole=all(o in ("refused", "not sent") for o in outcomes),
    )
