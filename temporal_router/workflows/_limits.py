"""What one entity accepts, sized so that nothing a client sends can cross Temporal's limits.

Temporal refuses a payload over 2 MiB and a workflow task completion over 4 MiB (the gRPC
message limit), and terminates a workflow whose completion is refused. A completion carries
every command the task's worker accepted or refused (each echoes its request), the replies
of the commands it finished, and its new commands. The limits below keep that sum under
4 MiB for any mix of commands a ``RouterClient`` sends (at most 10 Updates are in flight per
workflow, the server's ``history.maxInFlightUpdates``), and keep what an entity carries
across continue-as-new under one payload. A raw client can still make the server hand one
task more than that, which no worker can refuse; the server's
``history.maxInFlightUpdatePayloads`` closes that door (docs/deployment.md).

Input rules hold at the edge, in ``RouterClient`` and again in the entity's Update
validator, so a raw Update gets them too: JSON nested at most :attr:`Limits.max_depth`
deep, finite numbers only, ids non-empty valid Unicode of bounded length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LIMITS", "Limits", "id_problem", "json_problem", "utf8_size"]

KiB = 1024
MiB = 1024 * KiB
#: Integers a client may send: what JSON parsers and Temporal's other SDKs read exactly.
_INT_RANGE = 2**64


@dataclass(frozen=True)
class Limits:
    """The limits of one entity (see the module docstring for why each is what it is).

    Example::

        from temporal_router.workflows import LIMITS
        assert LIMITS.max_command_bytes == 256 * 1024
    """

    #: One command: its encoded request (type, payload, version).
    max_command_bytes: int = 256 * KiB
    #: The caller of one call, encoded; all headers of one call (the caller, the trace
    #: context, any other).
    max_caller_bytes: int = 8 * KiB
    max_header_bytes: int = 16 * KiB
    #: One reply: the new snapshot plus the command's events; also what a state may weigh.
    max_reply_bytes: int = 512 * KiB
    #: The replies one workflow task sends; a command finishing past it replies a moment
    #: later, in the next task.
    max_task_reply_bytes: int = 768 * KiB
    #: Requests and their expected replies the validator lets into one workflow task; past
    #: it a command is refused as ``BUSY`` (retry it).
    max_task_admitted_bytes: int = 2 * MiB
    #: The input an entity carries to its next run (snapshot, remembered replies, hook
    #: inbox, undelivered reactor commands).
    max_carry_bytes: int = 1 * MiB
    #: Hook answers kept before anyone waits for them, in count and in bytes; one answer.
    max_inbox_answers: int = 100
    max_inbox_bytes: int = 128 * KiB
    max_answer_bytes: int = 64 * KiB
    #: A workflow's shared state (``shared_state()``), encoded, and one hook's change to it.
    max_shared_state_bytes: int = 128 * KiB
    #: Reactor commands waiting for delivery, in count and in bytes.
    max_outbox_commands: int = 100
    max_outbox_bytes: int = 128 * KiB
    #: Nesting depth of any JSON value a client sends (payloads, data, hook answers).
    max_depth: int = 32
    #: Characters of an entity id or a command id (Temporal's ``limit.maxIDLength``).
    max_id_length: int = 1000
    #: The server setting ``history.maxInFlightUpdatePayloads`` these limits are sized for:
    #: the Update requests the server lets wait for one workflow at most, all of which one
    #: workflow task may have to echo back (the server's default, 20 MiB, is more than a
    #: task completion can carry). The embedded dev server sets it; set it on your cluster.
    server_max_in_flight_update_payloads: int = 2 * MiB + 512 * KiB


LIMITS = Limits()


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (a lone surrogate counts as 3, as Python would write it)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _where(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def json_problem(value: Any, root: str, *, max_depth: int = LIMITS.max_depth) -> str | None:
    """Why ``value`` is not JSON this library accepts, naming the place; None if it is.

    Refused: nesting deeper than ``max_depth``, NaN and infinities (JSON has no such
    numbers; they would be stored as null without a word), strings and keys that are not
    valid Unicode (a lone surrogate), keys that are not strings, and values that are not
    JSON at all.

    Example::

        json_problem({"a": [1, float("nan")]}, "payload")  # 'payload.a[1]: NaN ...'
    """
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if len(path) > max_depth:
            return f"{root}{_where(path[:max_depth])}: nested deeper than {max_depth} levels"
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if not -_INT_RANGE <= item < _INT_RANGE:
                return f"{root}{_where(path)}: integer out of range (beyond 64 bits)"
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"{root}{_where(path)}: {item!r} is not a JSON number"
        elif isinstance(item, str):
            if not _valid_unicode(item):
                return f"{root}{_where(path)}: not valid Unicode (a lone surrogate)"
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    return f"{root}{_where(path)}: key {key!r} is not a string"
                if not _valid_unicode(key):
                    return f"{root}{_where(path)}: a key is not valid Unicode"
                stack.append((child, [*path, key]))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, [*path, index]) for index, child in enumerate(item))
        else:
            return f"{root}{_where(path)}: {type(item).__name__} is not a JSON value"
    return None


def _valid_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def id_problem(value: Any, name: str, *, max_length: int = LIMITS.max_id_length) -> str | None:
    """Why ``value`` cannot be an entity or command id, naming it; None if it can."""
    if not isinstance(value, str):
        return f"{name} must be a string, got {type(value).__name__}"
    if not value or value.isspace():
        return f"{name} must not be empty"
    if len(value) > max_length:
        return f"{name} is {len(value)} characters, limit {max_length}"
    if not _valid_unicode(value):
        return f"{name} is not valid Unicode (a lone surrogate)"
    return None
