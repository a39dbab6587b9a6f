"""Helpers for testing routers: in plain Python, and (with the dev extra) on Temporal."""

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

__all__ = [
    "PathStep",
    "create_test_deps",
    "create_test_workflow",
    "expect_error",
    "expect_ok",
    "test_migration",
    "test_migration_path",
    "test_migration_restore",
    "test_path",
]
