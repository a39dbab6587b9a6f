"""Temporal's OpenTelemetry interceptor as ``RouterPlugin(otel=True)`` installs it.

:class:`RouterTracingInterceptor` is ``temporalio.contrib.opentelemetry``'s
``OpenTelemetryInterceptor(add_temporal_spans=True)`` (the v2 integration that
``OpenTelemetryPlugin`` installs: context in the ``_tracer-data`` header, replay-safe spans
with real durations), with one change for entity workflows: their ``dispatch`` Update's
validator runs without a ``ValidateUpdate`` span, unless it rejects the command.

Why: every command is one Update, so every traced dispatch paid for a span that only timed
the validator's payload parsing (a few microseconds) under the client's
``StartWorkflowUpdate`` span, next to ``HandleUpdate``. A span costs about as much as the
router's whole dispatch bookkeeping on a worker (span creation, the sandbox's slow
``isinstance`` in attribute checks, export). A rejected command still gets its
``ValidateUpdate:dispatch`` span, made as temporalio makes it (the entity's rejections are
BENIGN application errors, so the status stays UNSET: a refusal, not a fault), so that
refusals stay visible in the trace; accepted commands keep ``StartWorkflowUpdate`` > ``HandleUpdate`` > ``dispatch
<Command>``. Every other workflow, Update, signal, query, activity and client call is traced
exactly as temporalio does.
"""

from __future__ import annotations

from collections.abc import Iterable

import opentelemetry.trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from temporalio import workflow
from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor
from temporalio.contrib.opentelemetry import _otel_interceptor as _temporal_otel
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import HandleUpdateInput, WorkflowInterceptorClassInput

__all__ = ["RouterTracingInterceptor"]

#: The instrumentation scope of temporalio's own spans, for the rejection span.
_TEMPORAL_SCOPE = _temporal_otel.__name__


def _rejection_span(input: HandleUpdateInput, exc: Exception) -> None:
    """The ``ValidateUpdate`` span temporalio would have made for a rejecting validator."""
    info = workflow.info()
    span = opentelemetry.trace.get_tracer(_TEMPORAL_SCOPE).start_span(
        f"ValidateUpdate:{input.update}",
        context=_temporal_otel._headers_to_context(input.headers),
        kind=SpanKind.SERVER,
        attributes={"temporalWorkflowID": info.workflow_id, "temporalRunID": info.run_id},
    )
    if not isinstance(exc, ApplicationError) or exc.category != ApplicationErrorCategory.BENIGN:
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    span.end()


class RouterTracingInterceptor(OpenTelemetryInterceptor):
    """``OpenTelemetryInterceptor(add_temporal_spans=True)``, minus the ``ValidateUpdate``
    span of accepted entity commands (see the module docstring).

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

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[_temporal_otel._TracingWorkflowInboundInterceptor]:
        base = super().workflow_interceptor_class(input)
        entity_types, update = self.entity_types, self.update

        class _Inbound(base):  # type: ignore[valid-type,misc]
            def handle_update_validator(self, input: HandleUpdateInput) -> None:
                if input.update != update or workflow.info().workflow_type not in entity_types:
                    super().handle_update_validator(input)
                    return
                try:
                    self.next.handle_update_validator(input)
                except Exception as exc:
                    try:
                        _rejection_span(input, exc)
                    except Exception:  # telemetry never changes the outcome
                        workflow.logger.warning("could not trace a rejected command", exc_info=True)
                    raise

        _Inbound.__qualname__ = _Inbound.__name__ = f"Router{base.__name__}"
        return _Inbound
