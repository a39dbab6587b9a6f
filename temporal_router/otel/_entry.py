"""The hand-off between Temporal's side and the router's side of one entity command.

:class:`~temporal_router.otel._interceptor.RouterTracingInterceptor` runs an entity's
``dispatch`` Update handler without temporalio's ``HandleUpdate`` span: it attaches the
caller's propagated context (the client's ``StartWorkflowUpdate`` span) with an
:class:`UpdateEntry` under :data:`UPDATE_ENTRY` in it. The first router ``dispatch`` span
that :func:`~temporal_router.otel.otel_plugin` opens in that context takes the entry: the
span gets the entry's attributes (the ``temporal*`` ids ``HandleUpdate`` carried) and kind
SERVER, and becomes the worker's span of that Update. Dispatches after it (nested ones, or
more in the same handler) find the entry taken and stay ordinary INTERNAL spans.

No Temporal import here: the router plugin stays usable without Temporal.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.context import create_key
from opentelemetry.util.types import AttributeValue

__all__ = ["UPDATE_ENTRY", "UpdateEntry"]

#: The OpenTelemetry context key of the :class:`UpdateEntry` of the running Update handler.
UPDATE_ENTRY: Final = create_key("temporal_router.update_entry")


class UpdateEntry:
    """One Update handler's worker-side span, to be made by the first dispatch in it."""

    __slots__ = ("attributes", "taken")

    def __init__(self, attributes: dict[str, AttributeValue]) -> None:
        #: Attributes for the span (Temporal's workflow, run and update ids).
        self.attributes = attributes
        #: Set when a dispatch span took the entry (a recording one, or not).
        self.taken = False
