"""An in-process IO shell: load, dispatch, save, with optimistic concurrency.

The Temporal adapter replaces this with a durable entity workflow; the executor remains for
plain-Python use and tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ._compose import run_chain
from ._definition import WorkflowSnapshot
from ._errors import ConcurrencyConflictError
from ._router import WorkflowRouter
from ._types import CommandLike, Event, PipelineError

__all__ = [
    "ExecutionResult",
    "ExecutorContext",
    "ExecutorError",
    "ExecutorMiddleware",
    "MemoryStore",
    "StoreAdapter",
    "StoredWorkflow",
    "WorkflowExecutor",
    "memory_store",
]


@dataclass(frozen=True, slots=True)
class StoredWorkflow:
    """A snapshot as a store holds it, with its concurrency ``version``."""

    snapshot: WorkflowSnapshot
    version: int


class StoreAdapter(Protocol):
    """Where an executor loads and saves snapshots."""

    async def load(self, id: str) -> StoredWorkflow | None:
        """The stored workflow, or None."""
        ...

    async def save(
        self,
        *,
        id: str,
        snapshot: WorkflowSnapshot,
        expected_version: int,
        events: list[Event] | None = None,
    ) -> None:
        """Save, raising :class:`ConcurrencyConflictError` on a version mismatch."""
        ...


class MemoryStore:
    """The in-memory reference store: versions start at 0 (absent) and grow by one a save."""

    def __init__(self) -> None:
        self._rows: dict[str, StoredWorkflow] = {}

    async def load(self, id: str) -> StoredWorkflow | None:
        """The stored workflow, or None."""
        return self._rows.get(id)

    async def save(
        self,
        *,
        id: str,
        snapshot: WorkflowSnapshot,
        expected_version: int,
        events: list[Event] | None = None,
    ) -> None:
        """Save if the stored version equals ``expected_version`` (0 to create)."""
        current = self._rows[id].version if id in self._rows else 0
        if current != expected_version:
            raise ConcurrencyConflictError(id, expected_version, current)
        version = current + 1
        self._rows[id] = StoredWorkflow({**snapshot, "version": version}, version)


def memory_store() -> MemoryStore:
    """A new :class:`MemoryStore`."""
    return MemoryStore()


@dataclass(frozen=True, slots=True)
class ExecutorError:
    """An executor-level failure: ``not_found``, ``conflict``, ``restore`` or ``unexpected``."""

    category: Literal["not_found", "conflict", "restore", "unexpected"]
    id: str
    message: str
    expected_version: int | None = None
    actual_version: int | None = None
    issues: list[Any] = field(default_factory=list)
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What ``execute`` returns: the saved snapshot and version, or an error."""

    ok: bool
    snapshot: WorkflowSnapshot | None = None
    version: int | None = None
    events: list[Event] = field(default_factory=list)
    error: PipelineError | ExecutorError | None = None


@dataclass(slots=True)
class ExecutorContext:
    """Shared by executor middleware and the dispatch step for one ``execute`` call."""

    id: str
    command: CommandLike
    stored: StoredWorkflow
    result: ExecutionResult | None = None
    snapshot: WorkflowSnapshot | None = None
    events: list[Event] = field(default_factory=list)


ExecutorMiddleware = Callable[[ExecutorContext, Callable[[], Awaitable[None]]], Any]


class WorkflowExecutor:
    """Load, dispatch, save: ``execute(id, command)`` against a store.

    Example::

        store = memory_store()
        executor = WorkflowExecutor(router, store)
        await store.save(id="t-1", snapshot=defn.serialize(wf), expected_version=0)
        result = await executor.execute("t-1", {"type": "Start", "payload": {}})
    """

    def __init__(self, router: WorkflowRouter, store: StoreAdapter) -> None:
        self.router = router
        self.store = store
        self._middleware: list[ExecutorMiddleware] = []

    def use(self, middleware: ExecutorMiddleware) -> WorkflowExecutor:
        """Add executor middleware ``(ctx, next)``, outermost first."""
        if not callable(middleware):
            raise TypeError(f"executor middleware must be callable, got {middleware!r}")
        self._middleware.append(middleware)
        return self

    async def execute(
        self, id: str, command: CommandLike, *, expected_version: int | None = None
    ) -> ExecutionResult:
        """Load ``id``, dispatch ``command``, save. Never raises."""
        try:
            return await self._execute(id, command, expected_version)
        except Exception as exc:
            return ExecutionResult(
                False, error=ExecutorError("unexpected", id, str(exc), error=exc)
            )

    async def _execute(
        self, id: str, command: CommandLike, expected_version: int | None
    ) -> ExecutionResult:
        stored = await self.store.load(id)
        if stored is None:
            return ExecutionResult(
                False, error=ExecutorError("not_found", id, f"No workflow {id!r}")
            )
        if expected_version is not None and expected_version != stored.version:
            return ExecutionResult(
                False, error=self._conflict(id, expected_version, stored.version)
            )
        ctx = ExecutorContext(id, command, stored)
        definition = self.router.definition

        async def dispatch_step(ctx: ExecutorContext) -> None:
            restored = definition.deserialize(ctx.stored.snapshot)
            if not restored.ok or restored.workflow is None:
                issues = restored.error.issues if restored.error else []
                message = str(restored.error) if restored.error else "restore failed"
                ctx.result = ExecutionResult(
                    False, error=ExecutorError("restore", id, message, issues=issues)
                )
                return
            result = await self.router.dispatch(restored.workflow, ctx.command)
            if result.ok and result.workflow is not None:
                ctx.snapshot = definition.serialize(result.workflow)
                ctx.events = list(result.events)
            else:
                ctx.result = ExecutionResult(False, error=result.error)

        await run_chain(self._middleware, dispatch_step, ctx)
        if ctx.snapshot is not None:
            try:
                await self.store.save(
                    id=id, snapshot=ctx.snapshot, expected_version=stored.version, events=ctx.events
                )
            except ConcurrencyConflictError as exc:
                return ExecutionResult(
                    False, error=self._conflict(id, stored.version, exc.actual_version)
                )
            version = stored.version + 1
            return ExecutionResult(
                True,
                snapshot={**ctx.snapshot, "version": version},
                version=version,
                events=ctx.events,
            )
        if ctx.result is not None and not ctx.result.ok:
            return ctx.result
        return ExecutionResult(
            False,
            error=ExecutorError(
                "unexpected", id, "Pipeline completed without setting snapshot or error"
            ),
        )

    @staticmethod
    def _conflict(id: str, expected: int, actual: int) -> ExecutorError:
        return ExecutorError(
            "conflict",
            id,
            str(ConcurrencyConflictError(id, expected, actual)),
            expected_version=expected,
            actual_version=actual,
        )
