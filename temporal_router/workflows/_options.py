"""How entity workflows behave: the options ``RouterPlugin`` sets for each router."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.common import RetryPolicy

from ..router import MigrationPipeline, Reactors

__all__ = ["EntityOptions"]


@dataclass(frozen=True)
class EntityOptions:
    """How entity workflows behave; set through ``RouterPlugin``.

    Attributes:
        max_history_events: Continue-as-new once history reaches this many events, even if
            the server has not suggested it yet. Each continued run records the bound it
            starts with, so a changed setting applies from an entity's next run; a first run
            reads the current setting, also when it is replayed.
        remember_commands: How many recent command replies to keep for exactly-once retries.
            Across continue-as-new they travel compressed; only the newest that fit
            ``LIMITS.max_carry_bytes`` are kept whole, older ids answer ``router`` /
            ``ALREADY_APPLIED`` (not applied).
        dispatch_timeout: Fail a dispatch whose handler runs longer (workflow time) with
            ``unexpected``, so a stuck handler cannot wedge the entity. None (default): no
            limit, and no timer per dispatch (a timer costs two history events).
        search_attributes: Keep ``RouterState`` up to date (the attribute must exist in the
            namespace; the embedded dev server registers it).
        reactors: Reactors whose follow-up commands the entity delivers durably.
        migrations: Migrations applied when a snapshot of an older model version is loaded.
    """

    max_history_events: int = 2_000
    remember_commands: int = 1_000
    dispatch_timeout: timedelta | None = None
    search_attributes: bool = True
    reactors: Reactors | None = None
    migrations: MigrationPipeline | None = None
    delivery_retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(maximum_interval=timedelta(seconds=30))
    )
