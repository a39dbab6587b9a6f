"""Hostile input through RouterClient and the CLI: categorised errors, entities untouched.

Random JSON payloads, wrong types, unknown commands and states get the same answer on
Temporal as from the pure router; refused commands leave state, version and (when the
entity's validator refused them) history as they were. Payloads over the command limit
(``LIMITS.max_command_bytes``) come back at once as a validation error; they neither hang nor
wedge the entity.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from temporal_router import (
    RouterFailure,
    UnknownNameError,
    ValidationError,
    ValidationFailure,
    WorkflowRouter,
)
from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer
from temporal_router.testing._temporal import unique_task_queue
from temporal_router.workflows import LIMITS
from temporal_router.workflows._limits import json_problem

from ._app import Ledger, bounded, build_ledger_router, history_length, hosted
from ._process import REPO

ON_TEMPORAL = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# -- strategies ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(["cid", "blob", "delay", "reason"]) | st.text(max_size=6)
payloads = st.one_of(
    # Valid for some command, so that handlers run too.
    st.fixed_dictionaries({"cid": st.text(min_size=1, max_size=30)}),
    st.fixed_dictionaries({}, optional={"blob": st.text(max_size=30)}),
    st.fixed_dictionaries({"cid": st.text(max_size=210) | json_values}),
    st.fixed_dictionaries({"blob": st.text(max_size=40) | json_values}),
    st.dictionaries(field_names, json_values, max_size=4),
    # Wrong types: not a mapping at all; pairs that dict() would happily turn into one.
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    st.lists(json_values, max_size=3),
    st.lists(st.tuples(field_names, st.text(min_size=1, max_size=5)), min_size=1, max_size=3),
)
# Commands whose handlers run without Temporal (the pure router is the oracle), plus
# unknown ones. ``Close`` would end the entity's life; ``AddViaHook`` needs a workflow.
known_types = st.sampled_from(["Add", "Stuff", "Keep"])
command_types = st.one_of(
    known_types,
    known_types,
    known_types,
    st.sampled_from(["Nope", "", "add", "Add ", "Closed", "Open"]),
    st.text(max_size=10).filter(lambda t: t not in ("Close", "AddViaHook")),
)


@dataclass
class Env:
    client: Client
    ledger: RouterClient
    router: WorkflowRouter
    entity: str
    target: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    router = build_ledger_router()
    queue = unique_task_queue("bad-input")
    async with hosted(temporal_dev_server.target, queue, router) as client:
        ledger = RouterClient(client, router, task_queue=queue)
        entity = f"{queue}-target"
        await ledger.create(entity, initial_state="Open", data={})
        yield Env(client, ledger, router, entity, temporal_dev_server.target)


async def _state(env: Env, entity: str | None = None) -> tuple[Any, int, int]:
    entity = entity or env.entity
    snap = await env.ledger.get(entity)
    return snap.workflow, snap.version, await history_length(env.client, entity)


def _validator_rejects(error: Any) -> bool:
    """Refusals the entity's validator makes (no history) rather than its handler."""
    return isinstance(error, ValidationFailure) or (
        isinstance(error, RouterFailure) and error.code == "UNKNOWN_COMMAND"
    )


# -- through RouterClient -------------------------------------------------------------------------


@ON_TEMPORAL
@given(command_type=command_types, payload=payloads)
async def test_random_commands_get_the_pure_routers_answer_and_refusals_change_nothing(
    env: Env, command_type: str, payload: Any
) -> None:
    before, version, events = await _state(env)
    result = await asyncio.wait_for(
        env.ledger.dispatch(env.entity, {"type": command_type, "payload": payload}), 30
    )
    after, version_after, events_after = await _state(env)

    event(
        f"{command_type if command_type in ('Add', 'Stuff', 'Keep') else 'unknown'}: "
        f"{'ok' if result.ok else result.error.category if result.error else '?'}"
    )
    if (payload is not None and not isinstance(payload, Mapping)) or json_problem(
        payload, "payload"
    ) is not None:
        # A payload must be a mapping of JSON this library accepts (finite numbers within
        # 64 bits, bounded depth); the client refuses anything else without sending.
        assert isinstance(result.error, ValidationFailure), result
        assert (after, version_after, events_after) == (before, version, events)
        return
    expected = await env.router.dispatch(
        before, {"type": command_type, "payload": payload or {}}, now=after.updated_at
    )
    assert result.ok == expected.ok, (result, expected)
    if result.ok:
        assert result.workflow is not None
        assert expected.workflow is not None
        assert (result.workflow.state, result.workflow.data) == (
            expected.workflow.state,
            expected.workflow.data,
        )
        assert version_after == version + 1
        assert after == result.workflow
        return
    assert result.error is not None
    assert expected.error is not None
    assert result.error.category == expected.error.category, (result.error, expected.error)
    assert getattr(result.error, "code", None) == getattr(expected.error, "code", None)
    assert (after, version_after) == (before, version)
    if _validator_rejects(result.error):
        assert events_after == events, f"refused {command_type!r} wrote history"


@pytest.mark.parametrize(
    "command",
    [
        {"type": "Stuff", "payload": {"blob": "x" * 2_100_000}},
        {"type": "Keep", "payload": {"blob": "x" * 5_000_000}},
        {"type": "Nope", "payload": {"blob": "x" * 2_100_000}},
        {"type": "Add", "payload": {"cid": ["x" * 1000] * 2_500}},
    ],
    ids=["2.1MB-valid", "5MB-valid", "2.1MB-unknown-command", "2.5MB-wrong-type"],
)
@bounded(60)
async def test_payloads_over_the_blob_limit_are_refused_at_once(
    env: Env, command: dict[str, Any]
) -> None:
    before = await _state(env)
    started = time.monotonic()
    result = await asyncio.wait_for(env.ledger.dispatch(env.entity, command), 10)
    elapsed = time.monotonic() - started

    assert isinstance(result.error, ValidationFailure), result
    assert result.error.issues[0]["type"] == "too_large"
    assert "too large" in result.error.message
    assert elapsed < 5, elapsed
    assert await _state(env) == before
    healthy = await asyncio.wait_for(
        env.ledger.dispatch(env.entity, {"type": "Stuff", "payload": {}}), 10
    )
    assert healthy.ok, healthy.error


@bounded(60)
async def test_big_payloads_under_the_limit_are_handled_and_state_growth_is_bounded(
    env: Env,
) -> None:
    entity = f"{env.entity}-big"
    await env.ledger.create(entity, initial_state="Open", data={})
    near = LIMITS.max_command_bytes - 1_000
    # Under the limit: a valid one applies, an invalid one is refused without echoing
    # the payload back (the rejection carries the request already).
    ok = await asyncio.wait_for(
        env.ledger.dispatch(entity, {"type": "Stuff", "payload": {"blob": "y" * near}}), 10
    )
    assert ok.ok, ok.error
    before = await _state(env, entity)
    refused = await asyncio.wait_for(
        env.ledger.dispatch(entity, {"type": "Add", "payload": {"cid": "z" * near}}), 10
    )
    assert isinstance(refused.error, ValidationFailure), refused
    assert len(json.dumps(refused.error.issues)) < 5_000
    assert await _state(env, entity) == before

    # State that would outgrow what one reply carries: the command fails, nothing changes.
    part = LIMITS.max_reply_bytes * 2 // 5
    for _ in range(2):
        kept = await env.ledger.dispatch(entity, {"type": "Keep", "payload": {"blob": "k" * part}})
        assert kept.ok, kept.error
    before = await _state(env, entity)
    too_big = await asyncio.wait_for(
        env.ledger.dispatch(entity, {"type": "Keep", "payload": {"blob": "k" * part}}), 10
    )
    assert isinstance(too_big.error, RouterFailure), too_big
    assert too_big.error.code == "TOO_LARGE"
    assert "too large" in too_big.error.message
    workflow, version, _ = await _state(env, entity)
    assert (workflow, version) == before[:2]
    assert isinstance(workflow.data, Ledger)
    assert len(workflow.data.kept) == 2 * part
    healthy = await asyncio.wait_for(
        env.ledger.dispatch(entity, {"type": "Add", "payload": {"cid": "after"}}), 10
    )
    assert healthy.ok, healthy.error


@pytest.mark.parametrize(
    "create",
    [
        {"initial_state": "Nope", "data": {}},
        {"initial_state": "Closed", "data": {}},
        {"initial_state": "Open", "data": {"ids": "not a list"}},
    ],
    ids=["unknown-state", "missing-data", "wrong-type"],
)
@bounded(60)
async def test_bad_initial_states_are_refused_before_anything_starts(
    env: Env, create: dict[str, Any]
) -> None:
    entity = f"{env.entity}-new-{create['initial_state']}"
    with pytest.raises((UnknownNameError, ValidationError)):
        await env.ledger.create(entity, **create)
    with pytest.raises((UnknownNameError, ValidationError)):
        await env.ledger.dispatch(entity, {"type": "Add", "payload": {"cid": "a"}}, create=create)
    with pytest.raises(RPCError) as info:
        await env.client.get_workflow_handle(entity).describe()
    assert info.value.status == RPCStatusCode.NOT_FOUND


# -- through the CLI ------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


async def _cli(env: Env, *args: str) -> Run:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "temporal_router.cli",
        *args,
        "--app",
        "tests.reliability.cli_app",
        "--task-queue",
        env.ledger.task_queue,
        cwd=REPO,
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": env.target,
            "PYTHONPATH": str(REPO),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


@bounded(120)
async def test_cli_dispatch_with_bad_input_fails_clearly_and_changes_nothing(env: Env) -> None:
    open_entity = f"{env.entity}-cli"
    closed_entity = f"{env.entity}-cli-closed"
    await env.ledger.create(open_entity, initial_state="Open", data={})
    await env.ledger.create(closed_entity, initial_state="Closed", data={"reason": "done"})
    before = {e: await _state(env, e) for e in (open_entity, closed_entity)}
    # (arguments, exit code, what stderr or the JSON error says)
    cases: list[tuple[list[str], int, str]] = [
        (["dispatch", open_entity, "Add", "--payload", "{not json"], 2, "not valid JSON"),
        (["dispatch", open_entity, "Add", "--payload", '[["cid", "x"]]'], 2, "JSON object"),
        (["dispatch", open_entity, "Add", "--payload", '{"cid": 5}'], 2, "invalid payload"),
        (["dispatch", open_entity, "Add", "--payload", '{"cid": ""}'], 2, "invalid payload"),
        (["dispatch", open_entity, "Launch", "--payload", "{}"], 2, "unknown command"),
        (["dispatch", closed_entity, "Add", "--payload", '{"cid": "x"}'], 1, "domain"),
        (["dispatch", closed_entity, "Stuff", "--payload", "{}"], 1, "NO_HANDLER"),
        (["dispatch", f"{open_entity}-missing", "Stuff", "--payload", "{}"], 1, "NOT_FOUND"),
        (
            ["dispatch", f"{open_entity}-new", "Add", "--payload", '{"cid": "x"}'],
            2,
            "Nope",
        ),
    ]
    cases[-1][0].extend(["--create", "Nope"])
    runs = await asyncio.gather(*(_cli(env, *args) for args, _, _ in cases))

    for (args, code, says), run in zip(cases, runs, strict=True):
        shown = f"{args}: exit {run.code}\nstdout: {run.stdout[-800:]}\nstderr: {run.stderr[-800:]}"
        assert run.code == code, shown
        assert "Traceback" not in run.stderr, shown
        assert says in run.stdout + run.stderr, shown
        if code == 1:
            error = json.loads(run.stdout)["error"]
            assert error["category"] in ("domain", "router"), shown
    # Nothing reached the open entity (the CLI refused every command locally); the closed
    # one refused in its handler: same state and version, two more updates in history.
    assert await _state(env, open_entity) == before[open_entity]
    workflow, version, _ = await _state(env, closed_entity)
    assert (workflow, version) == before[closed_entity][:2]
    with pytest.raises(RPCError):
        await env.client.get_workflow_handle(f"{open_entity}-new").describe()
