"""Who may create an entity: creation guards, run before an entity exists.

A guard sees the request (the entity id, its initial state and validated data, and the
caller) and refuses by raising: ``DomainErrorSignal`` for a business refusal (category
``domain``), ``ValidationError`` (``validation``), anything else (``unexpected``). On
Temporal a refused creation fails the entity's workflow at once, before it holds any state.

Example::

    @router.guard_create
    def only_clerks(request: CreationRequest) -> None:
        if request.caller is None or not request.caller.has_role("clerk"):
            raise DomainErrorSignal("Forbidden", {"required_role": "clerk"})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._caller import Caller

__all__ = ["CreationGuard", "CreationRequest"]


@dataclass(frozen=True)
class CreationRequest:
    """A request to create an entity, as its creation guards see it."""

    workflow_id: str
    initial_state: str
    #: The validated data of the initial state (a model instance of its schema).
    data: Any
    caller: Caller | None = None


#: A creation guard: returns to allow, raises to refuse.
CreationGuard = Callable[[CreationRequest], None]
