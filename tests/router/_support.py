"""Helpers for the router tests: workflows at fixed times, typed result access, a hook recorder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporal_router import (
    HOOK_EVENTS,
    DispatchResult,
    Workflow,
    WorkflowDefinition,
    WorkflowRouter,
)

from ._models import basket_definition, task_definition

E = TypeVar("E")

#: The moment test workflows are created at (well in the past, so refreshes are visible).
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
#: A later moment, passed as ``now=`` to dispatch.
T1 = datetime(2026, 1, 15, 11, 30, tzinfo=UTC)


def todo(title: str = "write tests", *, priority: int = 0, id: str = "task-1") -> Workflow:
    """A Task workflow in state Todo, created at :data:`T0`."""
    return task_definition.create_workflow(
        id, initial_state="Todo", data={"title": title, "priority": priority}, now=T0
    )


def doing(title: str = "write tests", assignee: str = "ada", *, id: str = "task-1") -> Workflow:
    """A Task workflow in state Doing, created at :data:`T0`."""
    return task_definition.create_workflow(
        id, initial_state="Doing", data={"title": title, "assignee": assignee}, now=T0
    )


def basket(
    items: Sequence[str] = ("apple",), tags: Sequence[str] = ("fresh",), *, id: str = "basket-1"
) -> Workflow:
    """A Basket workflow in state Open with a list and a nested model, created at :data:`T0`."""
    return basket_definition.create_workflow(
        id,
        initial_state="Open",
        data={"items": list(items), "meta": {"tags": list(tags)}},
        now=T0,
    )


def cmd(type: str, **payload: Any) -> dict[str, Any]:
    """A dict command."""
    return {"type": type, "payload": payload}


def ok(result: DispatchResult) -> Workflow:
    """The workflow of a successful result (fails the test otherwise)."""
    assert result.ok, f"expected ok, got {result.error!r}"
    assert result.error is None
    assert result.workflow is not None
    return result.workflow


def failed(result: DispatchResult, kind: type[E]) -> E:
    """The error of a failed result, checked to be a ``kind`` (fails the test otherwise)."""
    assert not result.ok, f"expected a failure, got {result.workflow!r}"
    assert result.workflow is None
    assert result.events == []
    assert isinstance(result.error, kind), f"expected {kind.__name__}, got {result.error!r}"
    return result.error


def snapshot(definition: WorkflowDefinition, workflow: Workflow) -> dict[str, Any]:
    """``definition.serialize(workflow)`` as a plain dict, for before/after comparisons."""
    return dict(definition.serialize(workflow))


class HookRecorder:
    """Registers a recording callback for every hook event; ``names`` is the call order."""

    def __init__(self, router: WorkflowRouter) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        for event in HOOK_EVENTS:
            router.on(event, self._recorder(event))  # type: ignore[call-overload]

    def _recorder(self, event: str) -> Any:
        def record(*args: Any) -> None:
            self.calls.append((event, args))

        return record

    @property
    def names(self) -> list[str]:
        """The hook events fired, in order."""
        return [name for name, _ in self.calls]

    def args(self, event: str) -> list[tuple[Any, ...]]:
        """The arguments of every call of ``event``, in order."""
        return [args for name, args in self.calls if name == event]
