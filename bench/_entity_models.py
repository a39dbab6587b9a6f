"""Models shared by ``bench.bench_entity``'s router and its hand-written baseline workflow."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["COMMANDS", "STATES", "Doing", "Reset", "Start", "Started", "Todo"]


class Todo(BaseModel):
    title: str = Field(min_length=1)
    rounds: int = 0


class Doing(BaseModel):
    title: str = Field(min_length=1)
    assignee: str = Field(min_length=1)
    rounds: int = 0


class Start(BaseModel):
    assignee: str = Field(min_length=1)


class Reset(BaseModel):
    pass


class Started(BaseModel):
    by: str


STATES: dict[str, type[BaseModel]] = {"Todo": Todo, "Doing": Doing}
COMMANDS: dict[str, type[BaseModel]] = {"Start": Start, "Reset": Reset}
