"""The baseline of ``bench.bench_entity``: the same two-state entity, hand-written on Temporal.

A long-running workflow whose ``dispatch`` Update validates the command with pydantic, makes
the transition (validating the new state's data), and replies with the state, data, version
and events. Kept in its own small module: the sandbox re-imports it for each run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pydantic

    from bench._entity_models import COMMANDS, Doing, Start, Started, Todo

__all__ = ["RawEntity", "RawInput", "RawReply", "RawRequest"]


@dataclass
class RawInput:
    title: str


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
        self._state = "Todo"
        self._data: Todo | Doing = Todo(title=input.title)
        self._version = 1

    @workflow.run
    async def run(self, input: RawInput) -> None:
        await workflow.wait_condition(lambda: False)

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
        schema = COMMANDS.get(request.type)
        if schema is None:
            return self._reply(f"unknown command {request.type!r}")
        try:
            command = schema.model_validate(request.payload)
        except pydantic.ValidationError as exc:
            return self._reply(f"invalid payload: {exc}")
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
        return self._reply(events=events)
