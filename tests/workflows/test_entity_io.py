"""What an entity carries across continue-as-new: its remembered replies, packed."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import signal
import zlib
from collections import OrderedDict
from collections.abc import Iterator

from pydantic_core import to_json

from temporal_router.router import DispatchResult
from temporal_router.workflows import LIMITS, DispatchReply
from temporal_router.workflows._entity_io import (
    MAX_UNPACKED_BYTES,
    Remembered,
    carried_replies,
    pack_replies,
    remembered_reply,
    remembered_within,
    reply_json,
    unpack_replies,
)
from temporal_router.workflows._messages import (
    EntityInput,
    complete_reply,
    reply_and_json,
    result_to_reply,
)
from tests.router._models import make_task_definition


def _reply(n: int) -> DispatchReply:
    snapshot = {
        "definition_name": "Order",
        "state": "Paid" if n % 2 else "Open",
        "data": {"title": f"order {n}", "lines": n % 7, "note": None},
        "created_at": "2026-12-07T00:00:00.000Z",
        "updated_at": f"2026-12-07T00:{n // 60 % 60:02}:{n % 60:02}.000Z",
        "version": n + 2,
    }
    return DispatchReply(ok=True, snapshot=snapshot, events=[{"type": "Paid", "data": {"n": n}}])


def _recent(count: int) -> OrderedDict[str, Remembered]:
    # As an entity keeps them: the JSON it sent for applied commands, objects otherwise.
    return OrderedDict(
        (f"{n:08x}-9c4b-4f4e-8a53-0242ac120002", reply_json(_reply(n)) if n % 3 else _reply(n))
        for n in range(count)
    )


def _decoded(replies: OrderedDict[str, Remembered]) -> dict[str, DispatchReply]:
    return {k: remembered_reply(v) for k, v in replies.items()}


def test_packed_replies_come_back_whole_in_a_fraction_of_the_room() -> None:
    recent = _recent(1_000)
    packed = pack_replies(list(recent.items()))
    unpacked = OrderedDict(unpack_replies(packed))
    assert list(unpacked) == list(recent)
    assert _decoded(unpacked) == _decoded(recent)
    assert all(isinstance(v, bytes) for v in unpacked.values()), "decoded only when retried"
    assert len(packed) * 4 < sum(len(reply_json(v)) for v in recent.values())


def test_all_replies_that_fit_are_carried_packed() -> None:
    recent = _recent(1_000)
    unpacked, packed = remembered_within(recent, LIMITS.max_carry_bytes)
    assert unpacked == []
    carried = EntityInput("Order", recent_packed=packed)
    assert _decoded(carried_replies(carried, 1_000)) == _decoded(recent)
    assert list(carried_replies(carried, 10)) == list(recent)[-10:]
    assert list(carried_replies(carried, 1_500)) == list(recent)
    assert list(carried_replies(carried, 999)) == list(recent)[1:]
    assert carried_replies(carried, 0) == OrderedDict()


def test_over_the_budget_the_newest_stay_whole_and_older_ids_are_still_known() -> None:
    recent = _recent(1_000)
    budget = 16_000
    unpacked, packed = remembered_within(recent, budget)
    assert packed is not None
    assert len(packed) + sum(len(to_json(r)) for r in unpacked) <= budget
    carried = _decoded(
        carried_replies(EntityInput("Order", recent=unpacked, recent_packed=packed), 1_000)
    )
    ids = list(recent)
    assert list(carried) == ids[len(ids) - len(carried) :]  # the newest, in order
    whole = [k for k, v in carried.items() if v.ok]
    assert whole == ids[len(ids) - len(whole) :]
    assert carried[whole[-1]] == remembered_reply(recent[whole[-1]])
    older = [v for v in carried.values() if not v.ok]
    assert older, "older ids are kept with a small reply"
    assert all(v.error is not None and v.error.code == "ALREADY_APPLIED" for v in older)


def test_what_does_not_unpack_is_nothing_not_a_crash() -> None:
    def packed(raw: bytes) -> str:
        return base64.b64encode(zlib.compress(raw)).decode()

    bomb = packed(b"[" + b" " * (64 * LIMITS.max_carry_bytes) + b"]")
    for bad in (
        "",
        "not base64!",
        base64.b64encode(b"not zlib").decode(),
        bomb,
        packed(b"not json"),
        packed(json.dumps([{"x": 1}]).encode()),
        packed(json.dumps([["id", "{}"], ["id", 1]]).encode()),
        packed(json.dumps({"id": "{}"}).encode()),
    ):
        assert unpack_replies(bad) == []
    assert unpack_replies(None) == []


def test_what_is_packed_always_unpacks_however_well_it_compresses() -> None:
    # 1,000 replies of 40 kB that compress to almost nothing: 40 MB of JSON.
    recent: OrderedDict[str, Remembered] = OrderedDict(
        (f"c{n}", DispatchReply(ok=True, snapshot={"blob": "k" * 40_000, "n": n}))
        for n in range(1_000)
    )
    unpacked, packed = remembered_within(recent, LIMITS.max_carry_bytes)
    replies = unpack_replies(packed)
    assert 0 < sum(len(reply_json(reply)) for _, reply in replies) <= MAX_UNPACKED_BYTES
    assert [command_id for command_id, _ in replies] == list(recent)[-len(replies) :]
    assert [r.command_id for r in unpacked] == list(recent)[
        -len(replies) - len(unpacked) : -len(replies)
    ]


def test_a_reply_too_large_to_carry_leaves_its_id_known_and_the_carry_ends() -> None:
    # High-entropy data does not compress: the newest reply alone is over half the budget.
    noise = random.Random(7).randbytes(300_000).hex()
    recent: OrderedDict[str, Remembered] = OrderedDict(
        [("old", reply_json(_reply(1))), ("big", DispatchReply(ok=True, snapshot={"b": noise}))]
    )
    for budget in (400_000, 1_000, 0):
        with _deadline(5):
            unpacked, packed = remembered_within(recent, budget)
        assert packed is None
        assert [r.command_id for r in unpacked] == (["old", "big"] if budget else [])
        assert all(r.reply.error is not None for r in unpacked)


def test_a_truncated_or_undecodable_pack_is_nothing_and_a_bad_reply_a_failure() -> None:
    packed = pack_replies(list(_recent(10).items()))
    whole = zlib.decompress(base64.b64decode(packed))
    truncated = base64.b64encode(zlib.compress(whole)[:-4]).decode()
    assert unpack_replies(packed) != []
    assert unpack_replies(truncated) == []
    broken = remembered_reply(b'{"ok": "not a bool"}')
    assert not broken.ok
    assert broken.error is not None
    assert broken.error.category == "unexpected"


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (SIGALRM: Linux, the main thread)."""

    def expired(*_: object) -> None:
        raise TimeoutError(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_short_reply_leaves_out_only_what_the_sender_puts_back() -> None:
    for model_version in (1, 2):
        definition = make_task_definition(model_version=model_version)
        created = definition.create_workflow("t-1", initial_state="Todo", data={"title": "x"})
        result = DispatchResult.success(created, [])
        full = result_to_reply(result, definition, 3)
        assert full.snapshot == dict(definition.serialize(created, version=3))
        short, raw = reply_and_json(result, definition, 3, "t-1")
        assert "id" not in raw.decode()
        assert ("model_version" in raw.decode()) == (model_version != 1)
        assert b"null" not in raw  # the reply's unset error is left out
        assert complete_reply(short, "t-1") == full
        # A snapshot whose id is not the workflow's keeps it (a raw start from a snapshot).
        other, _ = reply_and_json(result, definition, 3, "another-workflow")
        assert other.snapshot is not None
        assert other.snapshot["id"] == "t-1"
        assert reply_and_json(result, definition, 3, None)[1] == to_json(full)
