"""Every exception the library raises or hands back, in one hierarchy.

Dispatch never raises: failures come back as a categorised
:class:`~temporal_router.DispatchResult`. The exceptions below are what user code throws to
signal an outcome (``DomainErrorSignal``, ``ValidationError``), what misuse raises at
registration time (``ConfigurationError``), and what the adapter raises outside dispatch.

.. code-block:: text

    RouterError
    ├── ConfigurationError          bad registration, found before any dispatch
    ├── UnknownNameError            a state, command, event or error name not in the definition
    ├── ReadOnlyContextError        a lifecycle hook tried to mutate the context
    ├── ContextKeyNotSetError       ctx.get(key) for a key nobody set
    ├── NextCalledTwiceError        a middleware called next() more than once
    ├── DomainErrorSignal           ctx.error(...): a business rejection   -> category "domain"
    ├── ValidationError             a schema refused data                   -> category "validation"
    ├── DependencyErrorSignal       a wrapped dependency failed             -> category "dependency"
    ├── MigrationError              a snapshot migration step failed
    ├── ConcurrencyConflictError    an optimistic version check failed
    ├── RemoteError                 an exception raised on a worker, rebuilt on the client
    └── HookError                   a durable hook went wrong (temporal_router.workflows:
                                    HookTargetError, HookLoopError, HookFailed, HookTimeoutError)

The module imports nothing from Temporal so that the pure router stays importable alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ConcurrencyConflictError",
    "ConfigurationError",
    "ContextKeyNotSetError",
    "DependencyErrorSignal",
    "DomainErrorSignal",
    "MigrationError",
    "NextCalledTwiceError",
    "ReadOnlyContextError",
    "RemoteError",
    "RouterError",
    "UnknownNameError",
    "ValidationError",
    "issue_messages",
]


class RouterError(Exception):
    """Root of every exception defined by temporal-router."""

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self)


class ConfigurationError(RouterError, ValueError):
    """A registration was refused: raised at ``state()``, ``on()`` or ``use()`` time.

    Example::

        router.state("Nope")  # ConfigurationError: Unknown state 'Nope' ...
    """


class UnknownNameError(RouterError, KeyError):
    """A name that the workflow definition does not declare.

    ``kind`` is one of ``state``, ``command``, ``event`` or ``error``.
    """

    def __init__(self, kind: str, name: object) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"Unknown {kind}: {name}")

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return str(self.args[0])


class ReadOnlyContextError(RouterError, TypeError):
    """A lifecycle hook called a mutating method on its read-only context."""


class ContextKeyNotSetError(RouterError, LookupError):
    """``ctx.get(key)`` was called for a key that was never set in this dispatch."""


class NextCalledTwiceError(RouterError, RuntimeError):
    """A middleware called ``next()`` more than once."""

    def __init__(self) -> None:
        super().__init__("next() called multiple times")


def issue_messages(issues: Sequence[Any]) -> str:
    """Join the ``msg`` of pydantic error dicts (or any objects) with ``", "``."""
    parts: list[str] = []
    for issue in issues:
        if isinstance(issue, dict):
            location = ".".join(str(p) for p in issue.get("loc", ()))
            text = str(issue.get("msg", issue))
            parts.append(f"{location}: {text}" if location else text)
        else:
            parts.append(str(issue))
    return ", ".join(parts)


class DomainErrorSignal(RouterError):
    """A business rejection; dispatch reports it as category ``domain``.

    ``ctx.error(code, data)`` raises it after validating ``data`` against the error's schema.
    User code may also raise it directly::

        raise DomainErrorSignal("NotAssigned", {"reason": "no assignee"})
    """

    def __init__(self, code: str, data: Any = None) -> None:
        self.code = code
        self.data = data
        super().__init__(f"Domain error: {code}")


class ValidationError(RouterError):
    """A schema refused some data; dispatch reports it as category ``validation``.

    ``source`` says which data: ``command``, ``state``, ``transition``, ``event``, ``error``
    or ``restore``. ``issues`` is pydantic's list of error dicts.
    """

    def __init__(self, source: str, issues: Sequence[Any]) -> None:
        self.source = source
        self.issues = list(issues)
        super().__init__(f"Validation failed ({source}): {issue_messages(self.issues)}")


class DependencyErrorSignal(RouterError):
    """A call through the wrapped ``deps`` failed; dispatch reports category ``dependency``.

    ``name`` is the top-level dependency name (``db`` for ``deps.db.users.find()``) and
    ``error`` is the original exception.
    """

    def __init__(self, name: str, error: BaseException) -> None:
        self.name = name
        self.error = error
        super().__init__(f'Dependency "{name}" failed: {error}')


class MigrationError(RouterError):
    """A snapshot migration failed between ``from_version`` and ``to_version``."""

    def __init__(self, from_version: int, to_version: int, cause: BaseException | str) -> None:
        self.from_version = from_version
        self.to_version = to_version
        self.cause = cause
        super().__init__(f"Migration {from_version} → {to_version} failed: {cause}")


class ConcurrencyConflictError(RouterError):
    """A save expected one version of a workflow and found another."""

    def __init__(self, workflow_id: str, expected_version: int, actual_version: int) -> None:
        self.workflow_id = workflow_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f'Concurrency conflict for workflow "{workflow_id}": '
            f"expected version {expected_version}, actual {actual_version}"
        )


class RemoteError(RouterError):
    """An exception raised on a Temporal worker, rebuilt on the client from its type name.

    ``unexpected`` and ``dependency`` results that cross Temporal carry one of these as
    ``error``: the original exception object stays on the worker.
    """

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        super().__init__(f"{type_name}: {message}" if message else type_name)
