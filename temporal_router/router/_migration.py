"""Snapshot migrations: pure, versioned upgrades from one ``model_version`` to the next."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._definition import WorkflowDefinition
from ._errors import ConfigurationError, MigrationError

__all__ = [
    "MigrateResult",
    "MigrationEntry",
    "MigrationFn",
    "MigrationPipeline",
    "define_migrations",
    "migrate",
]

MigrationFn = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class MigrationEntry:
    """One step: ``fn`` turns a snapshot of version ``to_version - 1`` into ``to_version``."""

    to_version: int
    fn: MigrationFn
    description: str | None = None


@dataclass(frozen=True, slots=True)
class MigrationPipeline:
    """The checked steps of :func:`define_migrations`, keyed by target version."""

    definition: WorkflowDefinition
    target_version: int
    steps: Mapping[int, MigrationEntry]


@dataclass(frozen=True, slots=True)
class MigrateResult:
    """What :func:`migrate` returns: ``ok`` with the snapshot, or a :class:`MigrationError`."""

    ok: bool
    snapshot: dict[str, Any] | None = None
    error: MigrationError | None = None


def define_migrations(
    definition: WorkflowDefinition,
    migrations: Mapping[int, MigrationFn | tuple[str, MigrationFn]],
) -> MigrationPipeline:
    """Check and build a migration pipeline.

    Each key is a target version ``k >= 2`` whose function upgrades ``k-1`` to ``k``; a value
    is a function or ``(description, function)``. Keys must be contiguous and end at the
    definition's ``model_version``.

    Example::

        pipeline = define_migrations(orders_v3, {
            2: lambda s: {**s, "data": {**s["data"], "currency": "EUR"}},
            3: ("rename total", rename_total),
        })

    Raises:
        ConfigurationError: a key <= 1, a gap, or a highest key other than ``model_version``.
    """
    steps: dict[int, MigrationEntry] = {}
    for key, value in migrations.items():
        if isinstance(key, bool) or not isinstance(key, int) or key <= 1:
            raise ConfigurationError(
                f"Migration keys must be > 1 (version 1 is the baseline). Got: {key!r}"
            )
        if isinstance(value, tuple):
            if len(value) != 2 or not isinstance(value[0], str) or not callable(value[1]):
                raise ConfigurationError(
                    f"Migration {key}: expected a function or (description, function), got {value!r}"
                )
            steps[key] = MigrationEntry(key, value[1], value[0])
        elif callable(value):
            steps[key] = MigrationEntry(key, value)
        else:
            raise ConfigurationError(f"Migration {key}: expected a function, got {value!r}")
    if steps:
        keys = sorted(steps)
        if keys[-1] != definition.model_version:
            raise ConfigurationError(
                f"Highest migration key ({keys[-1]}) does not match definition "
                f"modelVersion ({definition.model_version})"
            )
        missing = [v for v in range(keys[0], keys[-1] + 1) if v not in steps]
        if missing:
            raise ConfigurationError(
                f"Migration version gap: no migration for version(s) {missing} "
                f"between {keys[0]} and {keys[-1]}"
            )
    return MigrationPipeline(definition, definition.model_version, dict(sorted(steps.items())))


def migrate(
    pipeline: MigrationPipeline,
    snapshot: Mapping[str, Any],
    *,
    on_step: Callable[[int, int, dict[str, Any], str | None], Any] | None = None,
    on_error: Callable[[MigrationError], Any] | None = None,
) -> MigrateResult:
    """Upgrade ``snapshot`` to the pipeline's target version. Never raises.

    Checks, in order: ``model_version`` is a positive int, ``definition_name`` matches, and
    the version is not above the target. Each step's output gets ``model_version`` forced to
    the step's version, then ``on_step(from, to, snapshot, description)`` is called.
    """

    def fail(error: MigrationError) -> MigrateResult:
        if on_error is not None:
            on_error(error)
        return MigrateResult(False, error=error)

    if not isinstance(snapshot, Mapping):  # callers pass untrusted JSON here
        return fail(  # type: ignore[unreachable]
            MigrationError(
                0,
                pipeline.target_version,
                f"snapshot must be a mapping, got {type(snapshot).__name__}",
            )
        )
    version = snapshot.get("model_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return fail(
            MigrationError(0, pipeline.target_version, f"Invalid model_version: {version!r}")
        )
    expected_name = pipeline.definition.name
    if snapshot.get("definition_name") != expected_name:
        return fail(
            MigrationError(
                version,
                pipeline.target_version,
                f"Snapshot definition {snapshot.get('definition_name')!r} does not match "
                f"pipeline definition {expected_name!r}",
            )
        )
    if version > pipeline.target_version:
        return fail(
            MigrationError(
                version,
                pipeline.target_version,
                f"Snapshot model_version {version} is newer than target "
                f"{pipeline.target_version}. Cannot downgrade.",
            )
        )
    if version == pipeline.target_version:
        return MigrateResult(
            True, snapshot=dict(snapshot) if not isinstance(snapshot, dict) else snapshot
        )
    current: dict[str, Any] = dict(snapshot)
    for target in range(version + 1, pipeline.target_version + 1):
        entry = pipeline.steps.get(target)
        if entry is None:
            return fail(
                MigrationError(
                    target - 1, target, f"No migration function found for version {target}"
                )
            )
        try:
            produced = entry.fn(current)
            if not isinstance(produced, Mapping):
                raise TypeError(f"migration returned {type(produced).__name__}, not a mapping")
        except Exception as exc:
            error = MigrationError(target - 1, target, exc)
            error.__cause__ = exc
            return fail(error)
        current = {**produced, "model_version": target}
        if on_step is not None:
            on_step(target - 1, target, current, entry.description)
    return MigrateResult(True, snapshot=current)
