"""Small workflows for the environment tests (kept apart so the sandbox imports little)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from temporal_router.workflows import ROUTER_DEFINITION, ROUTER_STATE

__all__ = [
    "CountUntilContinueAsNewSuggested",
    "SleepDays",
    "UpsertRouterAttributes",
    "WaitForSignal",
]


@workflow.defn
class WaitForSignal:
    """Waits for one ``release`` signal and returns its value."""

    def __init__(self) -> None:
        self._value: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._value is not None)
        return f"released with {self._value}"

    @workflow.signal
    def release(self, value: str) -> None:
        self._value = value


@workflow.defn
class UpsertRouterAttributes:
    """Upserts the router's search attributes, as an entity workflow does."""

    @workflow.run
    async def run(self, definition: str, state: str) -> None:
        workflow.upsert_search_attributes(
            [ROUTER_DEFINITION.value_set(definition), ROUTER_STATE.value_set(state)]
        )


@workflow.defn
class CountUntilContinueAsNewSuggested:
    """Runs short timers until the server suggests continue-as-new; returns the history length."""

    @workflow.run
    async def run(self, max_timers: int) -> int:
        for _ in range(max_timers):
            if workflow.info().is_continue_as_new_suggested():
                return workflow.info().get_current_history_length()
            await workflow.sleep(timedelta(milliseconds=1))
        return -1


@workflow.defn
class SleepDays:
    """Sleeps for ``days`` days of workflow time."""

    @workflow.run
    async def run(self, days: int) -> str:
        await workflow.sleep(timedelta(days=days))
        return f"slept {days} days"
