"""A small state a workflow shares with its hooks, without a router: HotMesh's ``search()``.

The host reads and writes ``shared_state()``, a plain dict that lives as long as the run; a
hook reads it with ``await host_state()`` (a query, through an activity) and sets top-level
keys with ``await update_host_state({...})`` (a signal, sealed like every internal message
when the workers have a key ring). Changes apply in the order the host receives them; the
usual pattern, as in HotMesh, is to write, then ``signal()``: the waiter wakes after the
write. The state is not carried across continue-as-new (pass what matters in the new run's
input), and it is bounded (``LIMITS.max_shared_state_bytes``, JSON values only).

Example::

    @workflow.defn
    class Greeter:
        @workflow.run
        async def run(self) -> dict:
            shared_state()["greeting"] = "Hello"
            await exec_hook(task_queue="q", workflow_name="Enricher", args=[])
            return dict(shared_state())  # {'greeting': 'Hello', 'name': 'Ada'}


    @workflow.defn
    class Enricher:
        @workflow.run
        async def run(self, reply: dict) -> None:
            assert (await host_state())["greeting"] == "Hello"
            await update_host_state({"name": "Ada"})
            await signal(reply["signal"], "done")
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic_core import to_json
from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from ._errors import HookRequestError, HookTargetError
from ._hooks import _host_id
from ._limits import LIMITS, json_problem
from ._messages import HOST_SNAPSHOT_ACTIVITY, SHARED_QUERY, SHARED_SIGNAL, SharedChange

__all__ = ["host_state", "install_shared_state", "shared_state", "update_host_state"]

#: Where a workflow keeps its shared state: on its own instance, for as long as the run.
_ATTRIBUTE = "_temporal_router_shared"


def shared_state() -> dict[str, Any]:
    """The current workflow's shared state: a dict its hooks read and change.

    Only JSON values; a change that would take it over ``LIMITS.max_shared_state_bytes`` is
    dropped with a warning (the host's own writes are not checked until a hook reads them).
    """
    instance = workflow.instance()
    state = getattr(instance, _ATTRIBUTE, None)
    if not isinstance(state, dict):
        state = {}
        setattr(instance, _ATTRIBUTE, state)
    return state


def _receive(value: RawValue) -> None:
    try:
        change = workflow.payload_converter().from_payload(value.payload, SharedChange)
    except Exception as exc:  # a signal anyone with namespace access can send
        workflow.logger.warning("dropped a shared-state change that is not one: %s", exc)
        return
    if not isinstance(change.changes, dict) or json_problem(change.changes, "changes"):
        workflow.logger.warning("dropped a shared-state change that is not JSON")
        return
    state = shared_state()
    merged = {**state, **change.changes}
    size = len(to_json(merged))
    if size > LIMITS.max_shared_state_bytes:
        workflow.logger.warning(
            "dropped a shared-state change: the state would be %d bytes, limit %d",
            size,
            LIMITS.max_shared_state_bytes,
        )
        return
    state.update(change.changes)


def _read() -> dict[str, Any]:
    return dict(shared_state())


def install_shared_state() -> None:
    """Let hooks read (query) and change (signal) the current workflow's shared state."""
    if workflow.get_signal_handler(SHARED_SIGNAL) is None:
        workflow.set_signal_handler(SHARED_SIGNAL, _receive)
    if workflow.get_query_handler(SHARED_QUERY) is None:
        workflow.set_query_handler(SHARED_QUERY, _read)


async def host_state(workflow_id: str | None = None) -> dict[str, Any]:
    """The shared state of the host (the parent, or ``workflow_id``), read by a query."""
    result: dict[str, Any] = await workflow.execute_activity(
        HOST_SNAPSHOT_ACTIVITY,
        args=[_host_id(workflow_id), SHARED_QUERY],
        start_to_close_timeout=timedelta(seconds=30),
        result_type=dict,
    )
    return result


async def update_host_state(changes: Mapping[str, Any], *, workflow_id: str | None = None) -> None:
    """Set top-level keys of the host's shared state (the parent, or ``workflow_id``).

    Raises:
        HookRequestError: ``changes`` is not JSON or is over ``LIMITS.max_answer_bytes``;
            nothing sent.
        HookTargetError: no host, or it is closed.
    """
    if not isinstance(changes, Mapping):
        raise HookRequestError(f"update_host_state takes a mapping, got {type(changes).__name__}")
    problem = json_problem(dict(changes), "changes")
    if problem is None:
        size = len(to_json(dict(changes)))
        if size > LIMITS.max_answer_bytes:
            problem = f"changes too large: {size} bytes, limit {LIMITS.max_answer_bytes}"
    if problem is not None:
        raise HookRequestError(f"cannot change the host's state: {problem}")
    host = _host_id(workflow_id)
    try:
        await workflow.get_external_workflow_handle(host).signal(
            SHARED_SIGNAL, SharedChange(dict(changes))
        )
    except ApplicationError as exc:
        raise HookTargetError(
            f"cannot change {host!r}'s state: it is closed or unknown ({exc})"
        ) from exc
