"""temporal-router: typed, observable state machines on Temporal.

This top-level package is the pure command router (no Temporal needed to use it). The
Temporal adapter lives in :mod:`temporal_router.adapter`, OpenTelemetry in
:mod:`temporal_router.otel`, test helpers in :mod:`temporal_router.testing`.

Example::

    from pydantic import BaseModel
    from temporal_router import WorkflowRouter, define_workflow

    class Todo(BaseModel):
        title: str

    class Done(BaseModel):
        title: str

    class Finish(BaseModel):
        pass

    tasks = define_workflow(
        "Task", states={"Todo": Todo, "Done": Done}, commands={"Finish": Finish},
        events={}, errors={},
    )
    router = WorkflowRouter(tasks)
    router.state("Todo").on("Finish", lambda ctx: ctx.transition("Done", {"title": ctx.data.title}))
"""

import contextlib

from ._compat import moved_attribute as _moved_attribute
from .router import (
    HOOK_EVENTS,
    Caller,
    ClientWorkflowDefinition,
    Command,
    CommandLike,
    ConcurrencyConflictError,
    ConfigurationError,
    Context,
    ContextKey,
    ContextKeyNotSetError,
    CreationRequest,
    DependencyErrorSignal,
    DependencyFailure,
    DispatchResult,
    DomainErrorSignal,
    DomainFailure,
    ErrorCategory,
    Event,
    ExecutionResult,
    ExecutorContext,
    ExecutorError,
    ExecutorMiddleware,
    Handler,
    HookEvent,
    MemoryStore,
    Middleware,
    MigrateResult,
    MigrationEntry,
    MigrationError,
    MigrationFn,
    MigrationPipeline,
    Next,
    NextCalledTwiceError,
    PipelineError,
    Plugin,
    ReactorCommand,
    ReactorContext,
    Reactors,
    ReadonlyContext,
    ReadOnlyContextError,
    RemoteError,
    RestoreResult,
    Route,
    RouterError,
    RouterFailure,
    StateBuilder,
    StoreAdapter,
    StoredWorkflow,
    UnexpectedFailure,
    UnknownNameError,
    ValidationError,
    ValidationFailure,
    Workflow,
    WorkflowDefinition,
    WorkflowExecutor,
    WorkflowRouter,
    WorkflowSnapshot,
    caller_context,
    create_key,
    create_reactors,
    current_caller,
    define_migrations,
    define_plugin,
    define_workflow,
    is_plugin,
    is_server_field,
    memory_store,
    migrate,
    run_chain,
    server,
)

__version__ = "0.1.0"

__all__ = [
    "HOOK_EVENTS",
    "Caller",
    "ClientWorkflowDefinition",
    "Command",
    "CommandLike",
    "ConcurrencyConflictError",
    "ConfigurationError",
    "Context",
    "ContextKey",
    "ContextKeyNotSetError",
    "CreationRequest",
    "DependencyErrorSignal",
    "DependencyFailure",
    "DispatchResult",
    "DomainErrorSignal",
    "DomainFailure",
    "ErrorCategory",
    "Event",
    "ExecutionResult",
    "ExecutorContext",
    "ExecutorError",
    "ExecutorMiddleware",
    "Handler",
    "HookEvent",
    "MemoryStore",
    "Middleware",
    "MigrateResult",
    "MigrationEntry",
    "MigrationError",
    "MigrationFn",
    "MigrationPipeline",
    "Next",
    "NextCalledTwiceError",
    "PipelineError",
    "Plugin",
    "ReactorCommand",
    "ReactorContext",
    "Reactors",
    "ReadOnlyContextError",
    "ReadonlyContext",
    "RemoteError",
    "RestoreResult",
    "Route",
    "RouterError",
    "RouterFailure",
    "StateBuilder",
    "StoreAdapter",
    "StoredWorkflow",
    "UnexpectedFailure",
    "UnknownNameError",
    "ValidationError",
    "ValidationFailure",
    "Workflow",
    "WorkflowDefinition",
    "WorkflowExecutor",
    "WorkflowRouter",
    "WorkflowSnapshot",
    "caller_context",
    "create_key",
    "create_reactors",
    "current_caller",
    "define_migrations",
    "define_plugin",
    "define_workflow",
    "is_plugin",
    "is_server_field",
    "memory_store",
    "migrate",
    "run_chain",
    "server",
]

#: Names that moved to the subpackage where they run; importing them from here still works,
#: with a DeprecationWarning naming the new place.
_MOVED = {
    "HookError": "temporal_router.workflows",
    "HookFailed": "temporal_router.workflows",
    "HookTargetError": "temporal_router.workflows",
    "HookTimeoutError": "temporal_router.workflows",
}


def __getattr__(name: str) -> object:
    return _moved_attribute(__name__, _MOVED, name)


for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("temporal_router.router."):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "temporal_router"
del _name, _obj
