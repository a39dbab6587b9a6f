"""Temporal's OpenTelemetry interceptor as ``RouterPlugin(otel=True)`` installs it.

:class:`RouterTracingInterceptor` is ``temporalio.contrib.opentelemetry``'s
``OpenTelemetryInterceptor(add_temporal_spans=True)`` (the v2 integration that
``OpenTelemetryPlugin`` installs: context in the ``_tracer-data`` header, replay-safe spans
with real durations), with two changes for the ``dispatch`` Update of entity workflows:

* its validator runs without a ``ValidateUpdate`` span, unless it rejects the command;
* its handler runs without a ``HandleUpdate`` span: the router's ``dispatch <Command>`` span
  is the worker's span of the Update, a child of the client's ``StartWorkflowUpdate`` span
  through the propagated context, with ``HandleUpdate``'s attributes (``temporalWorkflowID``,
  ``temporalRunID``) plus ``temporalUpdateID``, and kind SERVER (the hand-off: ``_entry.py``).

Why: every command is one Update, and each of those two spans was a wrapper around the
router's own span (the validator's only timed payload parsing, ``HandleUpdate`` had the
dispatch span as its only child, with nearly the same duration). A span costs about as much
as the router's whole dispatch bookkeeping on a worker (span creation, the sandbox's slow
``isinstance`` in attribute checks, export). What a trace still shows:

* a rejected command gets its ``ValidateUpdate:dispatch`` span, made as temporalio makes it
  (the entity's rejections are BENIGN application errors, so the status stays UNSET: a
  refusal, not a fault);
* an accepted command: ``StartWorkflowUpdate:dispatch`` > ``dispatch <Command>`` > the spans
  its handlers start. The dispatch span covers the router's dispatch; time the handler spent
  before it (waiting for the entity's lock behind other commands) is the gap under the
  client span;
* an Update handler that makes no dispatch span (a retried command id answered from the
  entity's memory, a version conflict found in the handler), or that raises, still gets the
  ``HandleUpdate:dispatch`` span temporalio would have made, from the handler's start to its
  end, with the same status and exception rules.

Every other workflow, Update, signal, query, activity and client call is traced exactly as
temporalio does: the workflow inbound interceptor is a composition, temporalio's tracing
inbound interceptor over the same ``next``, to which every call is delegated except the
entity commands' validator and handler (public APIs only: temporalio's tracing class is
only used as the ``type[WorkflowInboundInterceptor]`` its public interceptor returns).

The ``_tracer-data`` header is decoded as temporalio encodes it: the carrier dict of its
text-map propagator (W3C trace context and baggage, :data:`_PROPAGATOR`), stored as a
payload of temporalio's default payload converter. It is read with :func:`json.loads` when
it is ``json/plain`` (what that converter writes for a dict; same carrier, about half the
cost), other encodings through the default payload converter, and a header that cannot be
decoded leaves the span without a parent instead of failing the Update.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import opentelemetry.trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleQueryInput,
    HandleSignalInput,
    HandleUpdateInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from ._attributes import TEMPORAL_WORKFLOW_ID
from ._entry import UPDATE_ENTRY, UpdateEntry

__all__ = ["RouterTracingInterceptor"]

logger = logging.getLogger("temporal_router.otel")

#: The instrumentation scope of temporalio's own spans, for the spans made here in its name
#: (temporalio names its tracer after the module that defines its interceptor).
_TEMPORAL_SCOPE = OpenTelemetryInterceptor.__module__
#: The propagator temporalio's interceptor injects and extracts with (its own, not the
#: global one): W3C trace context, then W3C baggage.
_PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
#: temporalio's header, and the encoding its default payload converter gives a dict.
_TRACER_HEADER = "_tracer-data"
_JSON_PLAIN = b"json/plain"
#: temporalio's attribute keys besides the workflow id (it names them inline).
_TEMPORAL_RUN_ID = "temporalRunID"
_TEMPORAL_UPDATE_ID = "temporalUpdateID"


def _headers_to_context(headers: Mapping[str, Payload]) -> Context:
    """The context temporalio's interceptor would attach for ``headers``.

    A header that cannot be decoded gives an empty context (the span has no parent), logged:
    telemetry never fails an Update.
    """
    header = headers.get(_TRACER_HEADER)
    if not header:
        return Context()
    try:
        if header.metadata.get("encoding") == _JSON_PLAIN:
            carrier = json.loads(header.data)
        else:
            carrier = PayloadConverter.default.from_payloads([header])[0]
        return _PROPAGATOR.extract(carrier)
    except Exception:
        logger.warning("could not decode the trace context header", exc_info=True)
        return Context()


def _now_ns() -> int:
    """A span start time as the replay-safe tracer would stamp it."""
    if workflow.unsafe.is_replaying_history_events():
        return workflow.time_ns()
    return time.time_ns()


def _workflow_attributes() -> dict[str, AttributeValue]:
    info = workflow.info()
    return {TEMPORAL_WORKFLOW_ID: info.workflow_id, _TEMPORAL_RUN_ID: info.run_id}


def _is_fault(exc: BaseException | None) -> bool:
    """temporalio's status rule: ERROR for an Exception unless a BENIGN ApplicationError."""
    return isinstance(exc, Exception) and (
        not isinstance(exc, ApplicationError) or exc.category != ApplicationErrorCategory.BENIGN
    )


def _rejection_span(input: HandleUpdateInput, exc: Exception) -> None:
    """The ``ValidateUpdate`` span temporalio would have made for a rejecting validator."""
    span = opentelemetry.trace.get_tracer(_TEMPORAL_SCOPE).start_span(
        f"ValidateUpdate:{input.update}",
        context=_headers_to_context(input.headers),
        kind=SpanKind.SERVER,
        attributes=_workflow_attributes(),
    )
    if _is_fault(exc):
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    span.end()


def _handle_update_span(
    input: HandleUpdateInput, parent: Context, started_ns: int, failure: BaseException | None
) -> None:
    """The ``HandleUpdate`` span temporalio would have made, after the fact."""
    span = opentelemetry.trace.get_tracer(_TEMPORAL_SCOPE).start_span(
        f"HandleUpdate:{input.update}",
        context=parent,
        kind=SpanKind.SERVER,
        attributes=_workflow_attributes(),
        start_time=started_ns,
    )
    if failure is not None:
        if _is_fault(failure):
            span.set_status(Status(StatusCode.ERROR, f"{type(failure).__name__}: {failure}"))
        # As temporalio's use_span does; the replay-safe span then skips ending on a
        # workflow task failure, as it would for temporalio's own span.
        span.record_exception(failure)
    span.end()


class _RouterInbound(WorkflowInboundInterceptor):
    """temporalio's tracing inbound interceptor over ``next``, every call delegated to it,
    except the entity commands' validator and handler, which go straight to ``next`` with
    the span logic of the module docstring. Subclassed per worker with the class variables
    set (:meth:`RouterTracingInterceptor.workflow_interceptor_class`)."""

    #: temporalio's tracing inbound interceptor class, and what makes an entity command.
    tracing: ClassVar[type[WorkflowInboundInterceptor]]
    entity_types: ClassVar[frozenset[str]]
    update: ClassVar[str]

    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self._tracing = self.tracing(next)
        self._entity: bool | None = None

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self._tracing.init(outbound)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        return await self._tracing.execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        await self._tracing.handle_signal(input)

    async def handle_query(self, input: HandleQueryInput) -> Any:
        return await self._tracing.handle_query(input)

    def _is_entity_command(self, input: HandleUpdateInput) -> bool:
        if input.update != self.update:
            return False
        entity = self._entity
        if entity is None:
            entity = self._entity = workflow.info().workflow_type in self.entity_types
        return entity

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if not self._is_entity_command(input):
            self._tracing.handle_update_validator(input)
            return
        try:
            self.next.handle_update_validator(input)
        except Exception as exc:
            try:
                _rejection_span(input, exc)
            except Exception:  # telemetry never changes the outcome
                logger.warning("could not trace a rejected command", exc_info=True)
            raise

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        if not self._is_entity_command(input):
            return await self._tracing.handle_update_handler(input)
        parent = _headers_to_context(input.headers)
        entry: UpdateEntry | None = None
        started_ns = 0
        current = parent
        try:
            attributes = _workflow_attributes()
            attributes[_TEMPORAL_UPDATE_ID] = input.id
            entry = UpdateEntry(attributes)
            started_ns = _now_ns()
            current = otel_context.set_value(UPDATE_ENTRY, entry, parent)
        except Exception:
            logger.warning("could not trace a command", exc_info=True)
        token = otel_context.attach(current)
        failure: BaseException | None = None
        try:
            return await self.next.handle_update_handler(input)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            # As temporalio's attached_context: detach only if ours is current, and ignore a
            # token from another contextvars.Context (an abandoned handler finalised wherever
            # the GC runs).
            if otel_context.get_current() is current:
                with contextlib.suppress(ValueError, RuntimeError):
                    token.var.reset(token)
            if entry is not None and (not entry.taken or _is_fault(failure)):
                try:
                    _handle_update_span(input, parent, started_ns, failure)
                except Exception:  # telemetry never changes the outcome
                    logger.warning("could not trace a command", exc_info=True)


class RouterTracingInterceptor(OpenTelemetryInterceptor):
    """``OpenTelemetryInterceptor(add_temporal_spans=True)``, minus the ``ValidateUpdate``
    span of accepted entity commands and the ``HandleUpdate`` span that wrapped the router's
    dispatch span (see the module docstring).

    Args:
        entity_types: Workflow type names of the entity workflows (the definition names).
        update: The entities' command Update name.

    Example::

        RouterTracingInterceptor(["Order"], "dispatch")   # what RouterPlugin(otel=True) adds
    """

    def __init__(self, entity_types: Iterable[str], update: str) -> None:
        super().__init__(add_temporal_spans=True)
        self.entity_types = frozenset(entity_types)
        self.update = update

    # temporalio annotates its return with its private tracing class; ours composes that
    # class instead of subclassing it, so it is the public WorkflowInboundInterceptor type.
    def workflow_interceptor_class(  # type: ignore[override]
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        base: type[WorkflowInboundInterceptor] = super().workflow_interceptor_class(input)
        router = self

        class _Inbound(_RouterInbound):
            tracing = base
            entity_types = router.entity_types
            update = router.update

        _Inbound.__qualname__ = _Inbound.__name__ = f"Router{base.__name__}"
        return _Inbound
