"""What a dispatch result means for telemetry: the status rule and the error attributes.

A failure is a *fault* (span status ERROR, ``error.type``) or a *refusal* (status UNSET):
:func:`is_fault` is the rule, :class:`Outcome` applies it to a :class:`DispatchResult` and
gives the span's and the metrics' result and error attributes. The rule's rationale is in
:mod:`temporal_router.otel._plugin`'s docstring.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from opentelemetry.semconv.attributes import exception_attributes
from opentelemetry.util.types import AttributeValue

from ..router import (
    DependencyFailure,
    DispatchResult,
    DomainFailure,
    PipelineError,
    RouterFailure,
    UnexpectedFailure,
    ValidationFailure,
)
from ._attributes import (
    ERROR_CATEGORY,
    ERROR_CODE,
    ERROR_DEPENDENCY,
    ERROR_SOURCE,
    ERROR_TYPE,
    RESULT,
    RESULT_CANCELLED,
    RESULT_ERROR,
    RESULT_OK,
)

__all__ = ["Outcome", "error_attributes", "exception_event", "is_fault"]


def is_fault(error: PipelineError) -> bool:
    """True if ``error`` is a fault of the system (span status ERROR), False for a refusal.

    Faults: ``unexpected`` and ``dependency`` failures, ``validation`` of data a handler
    produced (any source but ``command``), and ``router`` ``UNKNOWN_STATE``. Refusals:
    ``domain`` failures, an invalid command payload, ``UNKNOWN_COMMAND`` and ``NO_HANDLER``.
    A cancellation (an ``unexpected`` failure wrapping a non-``Exception``) is neither.

    Example::

        result = await router.dispatch(wf, {"type": "Start", "payload": {}})
        if not result.ok and is_fault(result.error):
            alert(result.error.message)
    """
    if isinstance(error, DomainFailure):
        return False
    if isinstance(error, ValidationFailure):
        return error.source != "command"
    if isinstance(error, RouterFailure):
        return error.code == "UNKNOWN_STATE"
    if isinstance(error, DependencyFailure):
        return True
    return isinstance(error.error, Exception)


def _qualified_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return f"{module}.{cls.__qualname__}" if module and module != "builtins" else cls.__qualname__


def error_attributes(error: PipelineError) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {ERROR_CATEGORY: error.category}
    if isinstance(error, DomainFailure | RouterFailure):
        attributes[ERROR_CODE] = error.code
    elif isinstance(error, ValidationFailure):
        attributes[ERROR_SOURCE] = error.source
    elif isinstance(error, DependencyFailure):
        attributes[ERROR_DEPENDENCY] = error.name
    return attributes


def exception_event(exc: BaseException) -> dict[str, AttributeValue]:
    return {
        exception_attributes.EXCEPTION_TYPE: _qualified_name(exc),
        exception_attributes.EXCEPTION_MESSAGE: str(exc),
        exception_attributes.EXCEPTION_STACKTRACE: "".join(traceback.format_exception(exc)),
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a :class:`DispatchResult` means for telemetry."""

    result: str
    error: PipelineError | None = None
    error_type: str | None = None  # set exactly for faults
    description: str | None = None
    exception: BaseException | None = None

    @classmethod
    def of(cls, result: DispatchResult) -> Outcome:
        error = result.error
        if result.ok or error is None:
            return cls(RESULT_OK)
        if isinstance(error, UnexpectedFailure) and not isinstance(error.error, Exception):
            return cls(RESULT_CANCELLED)
        if not is_fault(error):
            return cls(RESULT_ERROR, error)
        if isinstance(error, UnexpectedFailure | DependencyFailure):
            exc = error.error
            return cls(
                RESULT_ERROR,
                error,
                _qualified_name(exc),
                f"{type(exc).__qualname__}: {error.message}",
                exc,
            )
        code = error.code if isinstance(error, RouterFailure) else error.category
        return cls(RESULT_ERROR, error, code, error.message)

    def span_attributes(self) -> dict[str, AttributeValue]:
        """Result and error attributes for the span (set in one call with the transition)."""
        if self.error is None:
            return {RESULT: self.result}
        attributes = error_attributes(self.error)
        attributes[RESULT] = self.result
        if self.error_type is not None:
            attributes[ERROR_TYPE] = self.error_type
        return attributes

    def metric_attributes(self) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {RESULT: self.result}
        if self.error is not None:
            attributes[ERROR_CATEGORY] = self.error.category
        if self.error_type is not None:
            attributes[ERROR_TYPE] = self.error_type
        return attributes
