"""Reactors: a pure mapping from emitted events to follow-up commands for other workflows.

Reactors do not dispatch. The Temporal adapter delivers the commands they produce durably;
in plain Python the caller routes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import ConfigurationError
from ._router import WorkflowRouter
from ._types import Command, Event

__all__ = ["ReactorCommand", "ReactorContext", "Reactors", "create_reactors"]


@dataclass(frozen=True, slots=True)
class ReactorCommand:
    """A follow-up command: send ``command`` to ``workflow_id`` (of router ``router_name``)."""

    workflow_id: str
    router_name: str
    command: Command


@dataclass(frozen=True, slots=True)
class ReactorContext:
    """What a reactor handler receives: the event and the id of the workflow that emitted it."""

    event: Event
    workflow_id: str


ReactorHandler = Callable[[ReactorContext], "ReactorCommand | Sequence[ReactorCommand] | None"]


class Reactors:
    """Registrations of ``(definition, event type) -> handler``.

    Example::

        reactors = create_reactors().on(order_router, "OrderPaid", lambda rc: ReactorCommand(
            workflow_id=f"ship-{rc.workflow_id}", router_name="Shipping",
            command=Command("Prepare", {"order_id": rc.workflow_id}),
        ))
        commands = reactors.resolve(order_router, "o-1", result.events)
    """

    def __init__(self) -> None:
        self._entries: list[tuple[str, str, ReactorHandler]] = []

    def on(self, router: WorkflowRouter, event_type: str, handler: ReactorHandler) -> Reactors:
        """React to ``event_type`` emitted by workflows of ``router``'s definition."""
        if not router.definition.has_event(event_type):
            raise ConfigurationError(
                f"reactors.on({event_type!r}): {router.definition.name!r} declares no such event"
            )
        if not callable(handler):
            raise TypeError(f"reactor handler must be callable, got {handler!r}")
        self._entries.append((router.definition.name, event_type, handler))
        return self

    def resolve(
        self, router: WorkflowRouter, workflow_id: str, events: Sequence[Event]
    ) -> list[ReactorCommand]:
        """The follow-up commands for ``events``, in event then registration order."""
        name = router.definition.name
        out: list[ReactorCommand] = []
        for event in events:
            for definition_name, event_type, handler in self._entries:
                if definition_name != name or event_type != event.type:
                    continue
                produced: Any = handler(ReactorContext(event, workflow_id))
                if produced is None:
                    continue
                if isinstance(produced, ReactorCommand):
                    out.append(produced)
                else:
                    out.extend(produced)
        return out


def create_reactors() -> Reactors:
    """A new, empty :class:`Reactors`."""
    return Reactors()
