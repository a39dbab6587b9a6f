"""Pydantic models and workflow definitions shared by the router tests.

Several test modules (and several engineers) use this file: add new models at the end of a
section rather than changing existing ones, which other tests rely on.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from temporal_router import WorkflowDefinition, define_workflow

# --- Task workflow: Todo -> Doing -> Done ----------------------------------------------------


class Todo(BaseModel):
    title: str
    priority: int = 0


class Doing(BaseModel):
    title: str
    assignee: str


class Done(BaseModel):
    title: str
    assignee: str


class Start(BaseModel):
    assignee: str


class Finish(BaseModel):
    pass


class Rename(BaseModel):
    title: str = Field(min_length=1)


class Started(BaseModel):
    assignee: str


class Finished(BaseModel):
    pass


class NotAllowed(BaseModel):
    reason: str


def make_task_definition(name: str = "Task", *, model_version: int = 1) -> WorkflowDefinition:
    """A fresh Task definition (a new object each call, so tests cannot share state)."""
    return define_workflow(
        name,
        states={"Todo": Todo, "Doing": Doing, "Done": Done},
        commands={"Start": Start, "Finish": Finish, "Rename": Rename},
        events={"Started": Started, "Finished": Finished},
        errors={"NotAllowed": NotAllowed},
        model_version=model_version,
    )


task_definition = make_task_definition()


# --- Basket workflow: nested, mutable data (isolation tests) ---------------------------------


class BasketMeta(BaseModel):
    tags: list[str] = Field(default_factory=list)


class BasketOpen(BaseModel):
    items: list[str] = Field(default_factory=list)
    meta: BasketMeta = Field(default_factory=BasketMeta)


class BasketClosed(BaseModel):
    items: list[str]
    reason: str = ""


class BasketLoose(BaseModel):
    """A flat schema that keeps unknown keys: the extras may be mutable."""

    model_config = ConfigDict(extra="allow")

    label: str = ""


class AddItem(BaseModel):
    item: str = Field(min_length=1)


class CloseBasket(BaseModel):
    reason: str = ""


class Touch(BaseModel):
    pass


class ItemAdded(BaseModel):
    item: str


class BasketFull(BaseModel):
    limit: int


def make_basket_definition(name: str = "Basket") -> WorkflowDefinition:
    """A fresh Basket definition: list and nested-model data, plus a flat extra=allow state."""
    return define_workflow(
        name,
        states={"Open": BasketOpen, "Closed": BasketClosed, "Loose": BasketLoose},
        commands={"AddItem": AddItem, "CloseBasket": CloseBasket, "Touch": Touch},
        events={"ItemAdded": ItemAdded},
        errors={"BasketFull": BasketFull},
    )


basket_definition = make_basket_definition()
