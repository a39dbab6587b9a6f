"""Helpers for testing routers: in plain Python, and (with the dev extra) on Temporal.

The pure helpers import nothing from Temporal. The Temporal ones (``dev_environment``,
``time_skipping_environment``, ``find_test_server``, ``unique_task_queue``) load
:mod:`temporal_router.testing._temporal` on first access, so ``import temporal_router.testing``
works without ``temporalio``. Pytest fixtures: :mod:`temporal_router.testing.pytest_plugin`.

Example::

    from temporal_router.testing import expect_ok, unique_task_queue
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._router import (
    PathStep,
    create_test_deps,
    create_test_workflow,
    expect_error,
    expect_ok,
    test_migration,
    test_migration_path,
    test_migration_restore,
    test_path,
)

if _TYPE_CHECKING:
    from ._temporal import (
        dev_environment,
        find_test_server,
        time_skipping_environment,
        unique_task_queue,
    )

_TEMPORAL_HELPERS = frozenset(
    {"dev_environment", "find_test_server", "time_skipping_environment", "unique_task_queue"}
)


def __getattr__(name: str) -> _Any:
    # PEP 562: import the Temporal helpers (and temporalio) only when first used.
    if name in _TEMPORAL_HELPERS:
        from . import _temporal

        value = getattr(_temporal, name)
        value.__module__ = __name__  # present it as temporal_router.testing.<name>
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PathStep",
    "create_test_deps",
    "create_test_workflow",
    "dev_environment",
    "expect_error",
    "expect_ok",
    "find_test_server",
    "test_migration",
    "test_migration_path",
    "test_migration_restore",
    "test_path",
    "time_skipping_environment",
    "unique_task_queue",
]
