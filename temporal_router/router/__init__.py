"""The pure command router. Nothing in this package imports Temporal.

Users import the router from :mod:`temporal_router`, its one public place. This package's
``__all__`` is its interface to the other subpackages: those names, plus a few internal
helpers at the end (``dump_model``, ``track_current_context``, ...) that the Temporal half
needs and users do not.
"""

from typing import Any as _Any

from .._compat import moved_attribute as _moved_attribute
from ._caller import (
    Caller,
    caller_context,
    current_caller,
    reset_current_caller,
    set_current_caller,
)
from ._compose import run_chain
from ._context import Context, ContextKey, ReadonlyContext, create_key, track_current_context
from ._creation import CreationRequest
from ._definition import (
    ClientWorkflowDefinition,
    RestoreResult,
    WorkflowDefinition,
    WorkflowSnapshot,
    define_workflow,
    dump_model,
    is_server_field,
    server,
    to_iso,
    utc_now,
)
from ._errors import (
    ConcurrencyConflictError,
    ConfigurationError,
    ContextKeyNotSetError,
    DependencyErrorSignal,
    DomainErrorSignal,
    MigrationError,
    NextCalledTwiceError,
    ReadOnlyContextError,
    RemoteError,
    RouterError,
    UnknownNameError,
    ValidationError,
    issue_messages,
)
from ._executor import (
    ExecutionResult,
    ExecutorContext,
    ExecutorError,
    ExecutorMiddleware,
    MemoryStore,
    StoreAdapter,
    StoredWorkflow,
    WorkflowExecutor,
    memory_store,
)
from ._lifecycle import HOOK_EVENTS, HookEvent
from ._migration import (
    MigrateResult,
    MigrationEntry,
    MigrationFn,
    MigrationPipeline,
    define_migrations,
    migrate,
)
from ._plugin import PLUGIN_BRAND, Plugin, define_plugin, is_plugin
from ._reactor import ReactorCommand, ReactorContext, Reactors, create_reactors
from ._router import WorkflowRouter
from ._routes import Handler, Middleware, Next, Route, StateBuilder
from ._types import (
    Command,
    CommandLike,
    DependencyFailure,
    DispatchResult,
    DomainFailure,
    ErrorCategory,
    Event,
    PipelineError,
    RouterFailure,
    UnexpectedFailure,
    ValidationFailure,
    Workflow,
)

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
# Internal: for the Temporal half of the package, not re-exported by temporal_router.
__all__ += [
    "PLUGIN_BRAND",
    "dump_model",
    "issue_messages",
    "reset_current_caller",
    "set_current_caller",
    "to_iso",
    "track_current_context",
    "utc_now",
]

#: The durable hook errors moved to the subpackage where hooks run (it needs temporalio,
#: which this package never imports; the old path imports it lazily, with a warning).
_MOVED = dict.fromkeys(
    ["HookError", "HookFailed", "HookTargetError", "HookTimeoutError"], "temporal_router.workflows"
)


def __getattr__(name: str) -> _Any:
    return _moved_attribute(__name__, _MOVED, name)
