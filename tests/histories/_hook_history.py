"""The entity and hooked workflows of ``entity_hooks_*.json`` (see ``record_hooks.py``).

``HistoryAccount`` (states ``Open`` and ``Charged``) handles:

* ``Remind``: ``hook(...)`` fire-and-forget on ``HistoryReminder``, which answers signal id
  ``payload.signal_id`` while nobody waits, so the answer stays in the entity's hook inbox
  (and is carried across continue-as-new).
* ``Charge``: ``exec_hook(...)`` on ``HistoryCharger``, which first sends a ``Ping`` to its
  host with ``dispatch_to_host`` (applied while the handler waits), then answers with a
  receipt; the handler records the receipt and moves to ``Charged``.
* ``Ping``: appends to ``pings`` (cheap; grows the history).

The workflow classes are module-level because the sandbox re-imports this module for every
hooked workflow run; temporal_router and pydantic are passed through.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from temporal_router import Context, define_workflow
    from temporal_router import WorkflowRouter as Router
    from temporal_router.workflows import dispatch_to_host, exec_hook, hook, signal

__all__ = [
    "HOOK_WORKFLOWS",
    "HistoryCharger",
    "HistoryReminder",
    "build_history_router",
    "history_account",
]


class Account(BaseModel):
    pings: list[str] = []
    receipts: list[dict[str, Any]] = []
    reminders: list[str] = []
    #: What the Charge handler saw when it woke (the hook's Ping included).
    pings_at_wake: list[list[str]] = []


class Charge(BaseModel):
    amount: int
    ping: str


class Ping(BaseModel):
    text: str


class Remind(BaseModel):
    signal_id: str
    text: str


history_account = define_workflow(
    "HistoryAccount",
    states={"Open": Account, "Charged": Account},
    commands={"Charge": Charge, "Ping": Ping, "Remind": Remind},
    events={},
    errors={},
)


async def _charge(ctx: Context) -> None:
    p = ctx.command.payload
    # No change before the wait: the hook's Ping changes the host meanwhile.
    receipt = await exec_hook(
        task_queue=workflow.info().task_queue,
        workflow_name="HistoryCharger",
        args=[{"amount": p.amount, "ping": p.ping}],
        timeout="1m",
    )
    data = {
        **ctx.data.model_dump(),
        "receipts": [*ctx.data.receipts, receipt],
        "pings_at_wake": [*ctx.data.pings_at_wake, list(ctx.data.pings)],
    }
    if ctx.state == "Open":
        ctx.transition("Charged", data)
    else:
        ctx.update(**{k: data[k] for k in ("receipts", "pings_at_wake")})


def _ping(ctx: Context) -> None:
    ctx.update(pings=[*ctx.data.pings, ctx.command.payload.text])


async def _remind(ctx: Context) -> None:
    p = ctx.command.payload
    hook_id = await hook(
        task_queue=workflow.info().task_queue,
        workflow_name="HistoryReminder",
        args=[p.signal_id, p.text],
    )
    ctx.update(reminders=[*ctx.data.reminders, hook_id])


def build_history_router() -> Router:
    router = Router(history_account)
    for state in ("Open", "Charged"):
        router.state(state).on("Charge", _charge).on("Ping", _ping).on("Remind", _remind)
    return router


@workflow.defn(name="HistoryCharger")
class HistoryCharger:
    """Pings its host through the host's router, then answers the waiting Charge."""

    @workflow.run
    async def run(self, spec: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
        reply = await dispatch_to_host({"type": "Ping", "payload": {"text": spec["ping"]}})
        receipt = {
            "receipt": f"r-{spec['amount']}",
            "amount": spec["amount"],
            "ping_ok": reply.ok,
        }
        await signal(info["signal"], receipt)
        return receipt


@workflow.defn(name="HistoryReminder")
class HistoryReminder:
    """Answers ``signal_id`` to its parent; nobody waits for it."""

    @workflow.run
    async def run(self, signal_id: str, text: str) -> str:
        await signal(signal_id, {"reminder": text})
        return text


HOOK_WORKFLOWS: list[type] = [HistoryCharger, HistoryReminder]
