"""Pydantic models and workflow definitions shared by the router tests.

Several test modules (and several engineers) use this file: add new models at the end of a
section rather than changing existing ones, which other tests rely on.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

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
