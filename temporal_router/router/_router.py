"""The command router: handlers per state and command, middleware, lifecycle hooks, plugins.

Chain order, outermost first (fixed, and pinned by ``tests/router/test_middleware.py``)::

    global middleware  ->  state middleware  ->  inline middleware  ->  handler

Global middleware runs in ``use()`` order (merged routers and plugins included). State
middleware is the single-state builder's, then the multi-state builder's, and is skipped for
wildcard handlers. Routes are resolved and their chains assembled once per
``(state, command)`` and cached until the next registration.

The route table's parts (entries, :class:`StateBuilder`, :class:`Route`) are in
``_routes.py``, hook storage and emission (the :class:`HookEmitter` base) in ``_hooks.py``;
this module has the registration API, route resolution and the dispatch pipeline.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar, overload

from ._caller import Caller
from ._caller import _current as _current_caller_var
from ._compose import _Next
from ._context import Context, ReadonlyContext, _ContextTracking, current_context
from ._creation import CreationGuard, CreationRequest
from ._definition import WorkflowDefinition, utc_now
from ._deps import wrap_deps as wrap_deps_
from ._errors import (
    ConfigurationError,
    DependencyErrorSignal,
    DomainErrorSignal,
    UnknownNameError,
    ValidationError,
    issue_messages,
)
from ._lifecycle import HOOK_EVENTS, HookEmitter, HookEvent
from ._plugin import is_plugin
from ._routes import (
    Entry,
    Middleware,
    Route,
    StateBuilder,
    StateHandlers,
    check_callable,
    describe,
    make_entry,
)
from ._types import (
    CommandLike,
    DependencyFailure,
    DispatchResult,
    DomainFailure,
    PipelineError,
    RouterFailure,
    UnexpectedFailure,
    ValidationFailure,
    Workflow,
)

__all__ = ["WorkflowRouter", "classify_error"]

F = TypeVar("F", bound=Callable[..., Any])

_current_caller = _current_caller_var.get

#: Not yet in the route cache (None there means "resolved: no handler").
_UNRESOLVED: Any = object()


def _error_message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not break classification
        text = ""
    return text if text else type(exc).__name__


def classify_error(exc: BaseException) -> PipelineError:
    """Map an exception thrown out of the chain to its dispatch error category."""
    if isinstance(exc, DomainErrorSignal):
        return DomainFailure(exc.code, exc.data, f"Domain error: {exc.code}")
    if isinstance(exc, ValidationError):
        return ValidationFailure(exc.source, exc.issues, str(exc))
    if isinstance(exc, DependencyErrorSignal):
        return DependencyFailure(exc.name, exc.error, str(exc))
    return UnexpectedFailure(exc, _error_message(exc))


class WorkflowRouter(HookEmitter):
    """Routes commands to handlers by (state, command), through middleware, with hooks.

    Args:
        definition: The workflow definition whose states and commands are routed.
        deps: Dependencies injected as ``ctx.deps`` (wrapped, see ``wrap_deps``).
        on_hook_error: Called with any exception a lifecycle hook raises. Default: log it.
        wrap_deps: Wrap ``deps`` so that failures become category ``dependency``.

    Example::

        router = WorkflowRouter(tasks)

        @router.state("Todo").on("Start")
        def start(ctx: Context) -> None:
            ctx.transition("Doing", {"assignee": ctx.command.payload.assignee})

        result = await router.dispatch(wf, {"type": "Start", "payload": {"assignee": "ada"}})
    """

    def __init__(
        self,
        definition: WorkflowDefinition,
        deps: Any = None,
        *,
        on_hook_error: Callable[[BaseException], Any] | None = None,
        wrap_deps: bool = True,
    ) -> None:
        if not isinstance(definition, WorkflowDefinition):
            raise ConfigurationError(
                f"WorkflowRouter needs a WorkflowDefinition (from define_workflow), got {definition!r}"
            )
        if on_hook_error is not None and not callable(on_hook_error):
            raise ConfigurationError(f"on_hook_error must be callable, got {on_hook_error!r}")
        super().__init__(on_hook_error)
        self.definition = definition
        self.deps = deps
        self.wrap_deps = wrap_deps
        self._single: dict[str, StateHandlers] = {}
        self._multi: dict[str, StateHandlers] = {}
        self._wildcards: dict[str, Entry] = {}
        self._global: list[Middleware] = []
        self._routes: dict[tuple[str, str], Route | None] = {}
        self._create_guards: list[CreationGuard] = []
        self._ctx_deps = wrap_deps_(deps) if wrap_deps else deps

    def __repr__(self) -> str:
        return f"WorkflowRouter({self.definition.name!r})"

    # -- registration ------------------------------------------------------------------

    @overload
    def state(self, names: str | Sequence[str]) -> StateBuilder: ...
    @overload
    def state(
        self, names: str | Sequence[str], setup: Callable[[StateBuilder], Any]
    ) -> WorkflowRouter: ...
    def state(
        self, names: str | Sequence[str], setup: Callable[[StateBuilder], Any] | None = None
    ) -> StateBuilder | WorkflowRouter:
        """The builder for state ``names`` (one name, or a list for shared handlers).

        With ``setup``, calls ``setup(builder)`` once per state and returns the router.

        Raises:
            ConfigurationError: a name is not a declared state.
        """
        single = isinstance(names, str)
        states: list[str] = [names] if isinstance(names, str) else list(names)
        for state in states:
            if not isinstance(state, str) or not self.definition.has_state(state):
                raise ConfigurationError(
                    f"state({state!r}): {self.definition.name!r} declares no such state "
                    f"(declared: {', '.join(self.definition.states) or 'none'})"
                )
        kind = "single" if single else "multi"
        if setup is None:
            return StateBuilder(self, states, kind)
        if not callable(setup):
            raise ConfigurationError(f"state({names!r}, setup): setup must be callable")
        for state in states:
            setup(StateBuilder(self, [state], kind))
        return self

    @overload
    def on(self, event: HookEvent, /) -> Callable[[F], F]: ...
    @overload
    def on(self, event: HookEvent, callback: Callable[..., Any], /) -> WorkflowRouter: ...
    @overload
    def on(self, event: Literal["*"], command: str, /) -> Callable[[F], F]: ...
    @overload
    def on(
        self, event: Literal["*"], command: str, /, *fns: Callable[..., Any]
    ) -> WorkflowRouter: ...
    def on(self, event: str, /, *args: Any) -> WorkflowRouter | Callable[[F], F]:
        """Register a lifecycle hook, or with ``"*"`` a wildcard handler for any state.

        ``router.on("transition", fn)`` / ``@router.on("transition")``;
        ``router.on("*", "Cancel", *middleware, handler)`` / ``@router.on("*", "Cancel")``.

        Raises:
            ConfigurationError: unknown hook event, undeclared command, or bad callable.
        """
        if event == "*":
            return self._on_wildcard(args)
        if not isinstance(event, str) or event not in HOOK_EVENTS:
            raise ConfigurationError(
                f"Unknown event or state: {event!r}; hook events are {', '.join(HOOK_EVENTS)}, "
                "and '*' registers a wildcard handler"
            )
        if not args:

            def decorator(fn: F) -> F:
                self.on(event, fn)  # type: ignore[call-overload]
                return fn

            return decorator
        if len(args) != 1:
            raise ConfigurationError(f"on({event!r}, ...) takes exactly one callback")
        callback = args[0]
        if not callable(callback):
            raise ConfigurationError(f"on({event!r}): callback must be callable, got {callback!r}")
        self._add_hook(event, callback)
        return self

    def use(self, item: WorkflowRouter | Callable[..., Any]) -> WorkflowRouter:
        """Merge a router, apply a plugin, or add global middleware ``(ctx, next)``.

        Raises:
            ConfigurationError: a router for another definition, an async plugin, or a
                middleware that cannot take ``(ctx, next)``.
        """
        if isinstance(item, WorkflowRouter):
            self._merge(item)
        elif is_plugin(item):
            outcome = item(self)
            if inspect.isawaitable(outcome):
                if inspect.iscoroutine(outcome):
                    outcome.close()
                raise ConfigurationError(
                    f"plugin {describe(item)} returned an awaitable: plugins run synchronously"
                )
        else:
            check_callable(item, "middleware", 2, "use")
            self._global.append(item)
            self._changed()
        return self

    def _on_wildcard(self, args: Sequence[Any]) -> WorkflowRouter | Callable[[F], F]:
        if not args:
            raise ConfigurationError("on('*', command, ...) needs a command name")
        command, fns = args[0], tuple(args[1:])
        where = f"on('*', {command!r})"
        self._check_command(command, where)
        if not fns:

            def decorator(fn: F) -> F:
                self._on_wildcard((command, fn))
                return fn

            return decorator
        self._wildcards[command] = make_entry(fns, where)
        self._changed()
        return self

    def _check_command(self, command: object, where: str) -> None:
        if not isinstance(command, str) or not self.definition.has_command(command):
            raise ConfigurationError(
                f"{where}: {self.definition.name!r} declares no command {command!r} "
                f"(declared: {', '.join(self.definition.commands) or 'none'})"
            )

    def _builder(self, kind: str, state: str) -> StateHandlers:
        table = self._single if kind == "single" else self._multi
        builder = table.get(state)
        if builder is None:
            builder = table[state] = StateHandlers()
        return builder

    def _changed(self) -> None:
        self._routes.clear()

    def _merge(self, child: WorkflowRouter) -> None:
        if child.definition is not self.definition:
            raise ConfigurationError(
                f"Cannot merge router for '{child.definition.name}' into router for "
                f"'{self.definition.name}': definition mismatch"
            )
        self._global.extend(child._global)
        for kind, table in (("single", child._single), ("multi", child._multi)):
            for state, theirs in table.items():
                ours = self._builder(kind, state)
                for command, entry in theirs.handlers.items():
                    ours.handlers.setdefault(command, entry)
                ours.middleware.extend(theirs.middleware)
        for command, entry in child._wildcards.items():
            self._wildcards.setdefault(command, entry)
        self._create_guards.extend(child._create_guards)
        self._extend_hooks(child)
        self._changed()

    # -- creation --------------------------------------------------------------------------

    def guard_create(self, guard: CreationGuard) -> CreationGuard:
        """Register a creation guard (also usable as a decorator); see :class:`CreationRequest`.

        Guards run in registration order, before an entity exists; the first that raises
        refuses the creation.
        """
        if not callable(guard):
            raise ConfigurationError(f"guard_create takes a callable, got {guard!r}")
        if inspect.iscoroutinefunction(guard):
            raise ConfigurationError(
                f"creation guard {getattr(guard, '__name__', guard)!r} is async; guards are "
                "plain functions (they run before the entity exists, with nothing to await)"
            )
        self._create_guards.append(guard)
        return guard

    def creation_guards(self) -> list[CreationGuard]:
        """The registered creation guards, in the order they run."""
        return list(self._create_guards)

    def check_creation(self, request: CreationRequest) -> PipelineError | None:
        """The failure of the first guard that refuses ``request``; None if all allow it."""
        for guard in self._create_guards:
            try:
                guard(request)
            except Exception as exc:
                return classify_error(exc)
        return None

    # -- introspection ---------------------------------------------------------------------

    def resolve(self, state: str, command: str) -> Route | None:
        """The route dispatch would take for ``command`` in ``state``, or None."""
        key = (state, command)
        try:
            return self._routes[key]
        except KeyError:
            pass
        route = self._build_route(state, command)
        self._routes[key] = route
        return route

    def routes(self) -> list[Route]:
        """Every (state, command) pair that has a handler, in definition order."""
        return [
            route
            for state in self.definition.states
            for command in self.definition.commands
            if (route := self.resolve(state, command)) is not None
        ]

    def hooks(self, event: HookEvent) -> list[Callable[..., Any]]:
        """The callbacks registered for ``event``, in call order."""
        return [cb for cb, _ in self._hooks[event]]

    def _build_route(self, state: str, command: str) -> Route | None:
        single, multi = self._single.get(state), self._multi.get(state)
        state_mw: list[Middleware] = []
        for builder in (single, multi):
            if builder is not None:
                state_mw.extend(builder.middleware)
        if single is not None and command in single.handlers:
            kind: Literal["single", "multi", "wildcard"] = "single"
            entry = single.handlers[command]
        elif multi is not None and command in multi.handlers:
            kind, entry = "multi", multi.handlers[command]
        elif command in self._wildcards:
            kind, entry, state_mw = "wildcard", self._wildcards[command], []
        else:
            return None
        chain = (*self._global, *state_mw, *entry.inline)
        return Route(state, command, kind, chain, entry.handler)

    # -- dispatch --------------------------------------------------------------------------

    async def dispatch(
        self,
        workflow: Workflow,
        command: CommandLike,
        *,
        now: datetime | None = None,
        caller: Caller | None = None,
    ) -> DispatchResult:
        """Run ``command`` against ``workflow``. Never raises (cancellation excepted).

        Args:
            workflow: The current workflow; never modified.
            command: A :class:`Command` or ``{"type": ..., "payload": {...}}``.
            now: The time to stamp as ``updated_at`` (workflow code passes
                ``temporalio.workflow.now()``); default: the wall clock.
            caller: Who sends the command, exposed as ``ctx.caller``; default: the
                :func:`~temporal_router.current_caller` (the Temporal adapter sets it from
                the command's headers).
        """
        # The pipeline is inlined here, in one coroutine; hook emits nobody listens to are
        # skipped (each would be a call, and an await when a hook is async).
        (
            on_start,
            on_end,
            on_pipeline_start,
            on_pipeline_end,
            on_transition,
            on_error,
            on_event,
        ) = self._emit_table  # HOOK_EVENTS order
        if on_start and (pending := self._emit_sync(on_start, (workflow, command))):
            await pending
        try:
            begun = self._begin(workflow, command, caller)
            if type(begun) is DispatchResult:
                result = begun
            else:
                ctx, route = begun  # type: ignore[misc]
                # Pipeline hooks get a read-only view; built only when one is registered.
                view = ReadonlyContext(ctx) if self._pipeline_hooks else None
                if on_pipeline_start and (pending := self._emit_sync(on_pipeline_start, (view,))):
                    await pending
                token = current_context.set(ctx) if _ContextTracking.enabled else None
                failure: PipelineError | None = None
                try:
                    outer = route._outer
                    if outer is None:
                        out = route._inner(ctx)  # the handler
                        if out is not None and hasattr(out, "__await__"):
                            await out
                    else:  # the outermost layer of compile_chain, run in this coroutine
                        step = _Next(route._inner, ctx)
                        out = outer(ctx, step)
                        if out is not None and hasattr(out, "__await__") and out is not step:
                            await out
                        if step.called and not step.started:
                            await step
                except Exception as exc:
                    failure = classify_error(exc)
                finally:
                    # Not contextlib.suppress: that allocates on every dispatch. ValueError:
                    # evicted, Temporal closed the coroutine from another Context.
                    if token is not None:
                        try:  # noqa: SIM105
                            current_context.reset(token)
                        except ValueError:
                            pass
                if failure is not None:
                    result = DispatchResult(False, None, [], failure)
                    if on_error and (pending := self._emit_sync(on_error, (failure, view))):
                        await pending
                else:
                    new_workflow = ctx.result_workflow(now if now is not None else utc_now())
                    result = DispatchResult(True, new_workflow, ctx.result_events())
                    if (
                        on_transition
                        and new_workflow.state != workflow.state
                        and (
                            pending := self._emit_sync(
                                on_transition, (workflow.state, new_workflow.state, new_workflow)
                            )
                        )
                    ):
                        await pending
                    if on_event:
                        for event in result.events:
                            if pending := self._emit_sync(on_event, (event, new_workflow)):
                                await pending
                if on_pipeline_end and (
                    pending := self._emit_sync(on_pipeline_end, (view, result))
                ):
                    await pending
        except Exception as exc:
            result = DispatchResult(False, error=UnexpectedFailure(exc, _error_message(exc)))
        except BaseException as exc:
            # Cancellation propagates, but observers still see the dispatch end.
            await self._emit(
                "dispatch:end",
                (
                    workflow,
                    command,
                    DispatchResult(False, error=UnexpectedFailure(exc, _error_message(exc))),
                ),
            )
            raise
        if on_end and (pending := self._emit_sync(on_end, (workflow, command, result))):
            await pending
        return result

    def _begin(
        self, workflow: Workflow, raw: CommandLike, caller: Caller | None
    ) -> tuple[Context, Route] | DispatchResult:
        """The synchronous start of the pipeline: the context and route, or a failure."""
        definition = self.definition
        state = workflow.state
        if state not in definition.states:
            return DispatchResult.failure(RouterFailure("UNKNOWN_STATE", f"Unknown state: {state}"))
        try:
            command = definition.parse_command(raw)
        except UnknownNameError as exc:
            return DispatchResult.failure(RouterFailure("UNKNOWN_COMMAND", str(exc)))
        except ValidationError as exc:
            message = f"Invalid command payload: {issue_messages(exc.issues)}"
            return DispatchResult.failure(ValidationFailure("command", exc.issues, message))
        route = self._routes.get((state, command.type), _UNRESOLVED)
        if route is _UNRESOLVED:
            route = self.resolve(state, command.type)
        if route is None:
            return DispatchResult.failure(
                RouterFailure(
                    "NO_HANDLER", f"No handler for command '{command.type}' in state '{state}'"
                )
            )
        ctx = Context(
            definition,
            workflow,
            command,
            self._ctx_deps,
            caller if caller is not None else _current_caller(),
        )
        return ctx, route
