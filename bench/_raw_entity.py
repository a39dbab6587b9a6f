"""The baselines of the dispatch benchmarks: the same two-state entity as a competent
Temporal user would write it by hand, and the floor (what Temporal itself costs for the
round trip).

``RawEntity`` (the hand-written side) does what the router's entity does for this entity,
the way one would write it without the library:

* a long-running workflow per entity, its ``dispatch`` Update validated in the validator
  with pydantic (the models passed through the sandbox), the parsed command kept for the
  handler so it is not parsed twice;
* an idempotency set of the last 1,000 update ids (the router remembers as many), carried
  over continue-as-new; a repeated id is answered without applying the command again;
* the ``RouterState`` search attribute upserted on every state change;
* continue-as-new at the same bound as the router's default (2,000 history events, or when
  the server suggests it), refusing new commands while it drains (the client retries them).

``FloorEntity`` is a long-running workflow whose ``dispatch`` Update does nothing: no
validation, no state, no reply.

Kept in their own small module: the sandbox re-imports it for each run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    import pydantic

    from bench._entity_models import COMMANDS, Doing, Start, Started, Todo

__all__ = [
    "BUSY",
    "MAX_HISTORY_EVENTS",
    "FloorEntity",
    "RawEntity",
    "RawInput",
    "RawReply",
    "RawRequest",
]

#: The router entity's defaults, so that both continue-as-new at the same cadence.
MAX_HISTORY_EVENTS = 2_000
REMEMBERED_IDS = 1_000
#: The validator's message while the entity drains for continue-as-new (clients retry).
BUSY = "busy: continuing as new"

STATE_KEY = SearchAttributeKey.for_keyword("RouterState")


@dataclass
class RawInput:
    title: str
    state: str = "Todo"
    data: dict[str, Any] | None = None
    version: int = 1
    seen: list[str] = field(default_factory=list)
    #: Continue-as-new at this many history events (``bench_growth`` raises it to keep an
    #: entity's history at the length it measures).
    max_history_events: int = MAX_HISTORY_EVENTS


@dataclass
class RawRequest:
    type: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class RawReply:
    ok: bool
    state: str
    data: dict[str, Any]
    version: int
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@workflow.defn(name="BenchRawEntity")
class RawEntity:
    @workflow.init
    def __init__(self, input: RawInput) -> None:
        self._title = input.title
        self._state = input.state
        self._data: Todo | Doing = (
            (Doing if input.state == "Doing" else Todo).model_validate(input.data)
            if input.data is not None
            else Todo(title=input.title)
        )
        self._version = input.version
        self._seen: dict[str, None] = dict.fromkeys(input.seen)
        self._parsed: dict[str, pydantic.BaseModel] = {}
        self._draining = False
        self._max_history_events = input.max_history_events

    @workflow.run
    async def run(self, input: RawInput) -> None:
        await workflow.wait_condition(self._history_is_long)
        self._draining = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            RawInput(
                self._title,
                self._state,
                self._data.model_dump(mode="json"),
                self._version,
                list(self._seen),
                self._max_history_events,
            )
        )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._max_history_events
        )

    @workflow.query
    def state(self) -> str:
        """The current state (``bench_growth`` waits on it: the first task has run)."""
        return self._state

    def _reply(
        self, error: str | None = None, events: list[dict[str, Any]] | None = None
    ) -> RawReply:
        return RawReply(
            ok=error is None,
            state=self._state,
            data=self._data.model_dump(mode="json"),
            version=self._version,
            events=events or [],
            error=error,
        )

    @workflow.update
    async def dispatch(self, request: RawRequest) -> RawReply:
        update_id = _update_id()
        if update_id in self._seen:
            return self._reply("already applied")
        command = self._parsed.pop(update_id, None) or _parse(request)
        data = self._data
        if isinstance(data, Todo) and isinstance(command, Start):
            self._data = Doing.model_validate(
                {"title": data.title, "assignee": command.assignee, "rounds": data.rounds}
            )
            self._state = "Doing"
            events = [{"type": "Started", "data": Started(by=command.assignee).model_dump()}]
        elif isinstance(data, Doing) and request.type == "Reset":
            self._data = Todo.model_validate({"title": data.title, "rounds": data.rounds + 1})
            self._state = "Todo"
            events = []
        else:
            return self._reply(f"no handler for {request.type!r} in {self._state!r}")
        self._version += 1
        self._seen[update_id] = None
        if len(self._seen) > REMEMBERED_IDS:
            del self._seen[next(iter(self._seen))]
        workflow.upsert_search_attributes([STATE_KEY.value_set(self._state)])
        return self._reply(events=events)

    @dispatch.validator
    def validate_dispatch(self, request: RawRequest) -> None:
        if self._draining:
            raise ValueError(BUSY)
        update_id = _update_id()
        if update_id not in self._seen:
            # Validators do not run on replay: the handler parses again when this is empty.
            self._parsed[update_id] = _parse(request)


def _update_id() -> str:
    info = workflow.current_update_info()
    assert info is not None
    return info.id


def _parse(request: RawRequest) -> pydantic.BaseModel:
    schema = COMMANDS.get(request.type)
    if schema is None:
        raise ValueError(f"unknown command {request.type!r}")
    return schema.model_validate(request.payload)


@workflow.defn(name="BenchFloorEntity")
class FloorEntity:
    """The floor: a long-running workflow whose Update does nothing."""

    @workflow.run
    async def run(self, input: RawInput) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    async def dispatch(self, request: RawRequest) -> None:
        return None
