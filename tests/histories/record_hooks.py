"""Record entity histories with durable hooks across continue-as-new (run by hand, then commit).

    .venv/bin/python -m tests.histories.record_hooks

On an in-memory dev server, with the ``HistoryAccount`` router of ``_hook_history.py`` and
``RouterPlugin(router, max_history_events=HOOKS_MAX_HISTORY, workflows=HOOK_WORKFLOWS)``,
entity ``history-hooks`` gets:

1. ``Remind``: a fire-and-forget ``hook`` on ``HistoryReminder``, whose answer (signal id
   ``REMINDER_SIGNAL``) arrives while nobody waits; the recorder waits for the reminder to
   complete and for the signal to be in the entity's history.
2. ``Charge``: ``exec_hook`` on ``HistoryCharger``, which sends a ``Ping`` to the entity with
   ``dispatch_to_host`` while the handler waits, then answers; the entity moves to ``Charged``.
3. ``Ping`` commands (ids ``ping-0``, ``ping-1``, ...) until the entity continues-as-new,
   carrying the unconsumed reminder answer in its hook inbox.
4. One more ``Charge`` in the second run.

Saved:

* ``entity_hooks_continued.json``: the first run (ends in ``WorkflowExecutionContinuedAsNew``).
* ``entity_hooks_second.json``: the second run (still running).

Re-record only on purpose: a history that no longer replays is the test catching a
non-deterministic change to the entity workflow or the hook primitives.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker

from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer

from ._hook_history import HOOK_WORKFLOWS, build_history_router

HERE = Path(__file__).resolve().parent
HOOKS_CONTINUED = HERE / "entity_hooks_continued.json"
HOOKS_SECOND = HERE / "entity_hooks_second.json"
HOOKS_ID = "history-hooks"
HOOKS_TASK_QUEUE = "record-hooks"
HOOKS_MAX_HISTORY = 100
REMINDER_SIGNAL = "reminder-1"
MAX_PINGS = 200


async def _history(client: Client, run_id: str | None = None) -> WorkflowHistory:
    return await client.get_workflow_handle(HOOKS_ID, run_id=run_id).fetch_history()


async def _write(history: WorkflowHistory, path: Path) -> None:
    text = json.dumps(json.loads(history.to_json()), indent=1) + "\n"
    await asyncio.to_thread(path.write_text, text)


async def _run_chain(client: Client) -> list[str]:
    """Run ids of every run of the entity, first to current (following continue-as-new)."""
    described = await client.get_workflow_handle(HOOKS_ID).describe()
    run_id: str | None = described.raw_description.workflow_execution_info.first_run_id
    chain: list[str] = []
    while run_id:
        chain.append(run_id)
        last = (await _history(client, run_id)).events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            break
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return chain


async def _until(probe: Any, what: str, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if await probe():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _ok_data(result: Any) -> Any:
    assert result.ok, result.error
    return result.workflow.data


async def record() -> list[Path]:
    router = build_history_router()
    plugin = RouterPlugin(router, max_history_events=HOOKS_MAX_HISTORY, workflows=HOOK_WORKFLOWS)
    async with DevServer() as server:
        client = await Client.connect(server.target, plugins=[plugin])
        async with Worker(client, task_queue=HOOKS_TASK_QUEUE):
            accounts = RouterClient(client, router, task_queue=HOOKS_TASK_QUEUE)
            await accounts.create(HOOKS_ID, initial_state="Open", data={})

            # 1. Fire-and-forget hook whose answer nobody waits for.
            reminded = await accounts.dispatch(
                HOOKS_ID,
                {"type": "Remind", "payload": {"signal_id": REMINDER_SIGNAL, "text": "pay"}},
                command_id="remind",
            )
            [reminder_id] = _ok_data(reminded).reminders
            await client.get_workflow_handle(reminder_id).result()

            async def signalled() -> bool:
                return any(
                    e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                    for e in (await _history(client)).events
                )

            await _until(signalled, "the reminder's answer in the entity's history")

            # 2. exec_hook + dispatch_to_host.
            charged = await accounts.dispatch(
                HOOKS_ID,
                {"type": "Charge", "payload": {"amount": 5, "ping": "from-charger-1"}},
                command_id="charge-1",
            )
            assert _ok_data(charged).pings_at_wake == [["from-charger-1"]], charged.workflow
            assert charged.workflow is not None
            assert charged.workflow.state == "Charged"

            # 3. Pings until continue-as-new.
            n = 0
            while len(await _run_chain(client)) < 2:
                assert n < MAX_PINGS, "no continue-as-new"
                pinged = await accounts.dispatch(
                    HOOKS_ID,
                    {"type": "Ping", "payload": {"text": f"p{n}"}},
                    command_id=f"ping-{n}",
                )
                assert pinged.ok, pinged.error
                n += 1
            print(f"pings sent: {n}")

            # 4. One more Charge in the second run.
            charged = await accounts.dispatch(
                HOOKS_ID,
                {"type": "Charge", "payload": {"amount": 7, "ping": "from-charger-2"}},
                command_id="charge-2",
            )
            data = _ok_data(charged)
            assert [r["receipt"] for r in data.receipts] == ["r-5", "r-7"], data
            assert data.pings_at_wake[-1][-1] == "from-charger-2", data

            first, second = await _run_chain(client)
            await _write(await _history(client, first), HOOKS_CONTINUED)
            await _write(await _history(client, second), HOOKS_SECOND)
    return [HOOKS_CONTINUED, HOOKS_SECOND]


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(HOOKS_ID, path.read_text())


def _summary(path: Path) -> Counter[str]:
    counts = Counter(EventType.Name(e.event_type) for e in _load(path).events)
    print(f"{path.relative_to(HERE.parent.parent)}: {sum(counts.values())} events")
    for name, count in sorted(counts.items()):
        print(f"  {name.removeprefix('EVENT_TYPE_')}: {count}")
    return counts


def check() -> None:
    """Print event counts and check the first run has what the replay test relies on."""
    counts = _summary(HOOKS_CONTINUED)
    _summary(HOOKS_SECOND)
    for required in (
        "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
    ):
        assert counts[required], f"{HOOKS_CONTINUED.name} has no {required}"
    last = _load(HOOKS_CONTINUED).events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    [payload] = last.workflow_execution_continued_as_new_event_attributes.input.payloads
    carried = json.loads(payload.data)
    signals = carried["hook_state"]["inbox"]["signals"]
    assert signals, f"the continue-as-new input carries an empty hook inbox: {carried}"
    print(f"carried hook inbox signals: {signals}")


def main() -> int:
    for path in asyncio.run(record()):
        print(path.relative_to(HERE.parent.parent))
    check()
    return 0


if __name__ == "__main__":
    sys.exit(main())
