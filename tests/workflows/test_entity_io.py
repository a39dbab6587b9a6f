"""What an entity carries across continue-as-new: its remembered replies, packed."""

from __future__ import annotations

import base64
import json
import zlib
from collections import OrderedDict

from pydantic_core import to_json

from temporal_router.workflows import LIMITS, DispatchReply
from temporal_router.workflows._entity_io import (
    MAX_UNPACKED_BYTES,
    carried_replies,
    pack_replies,
    remembered_within,
    unpack_replies,
)
from temporal_router.workflows._messages import EntityInput, RememberedReply


def _reply(n: int) -> DispatchReply:
    snapshot = {
        "definition_name": "Order",
        "state": "Paid" if n % 2 else "Open",
        "data": {"title": f"order {n}", "lines": n % 7},
        "created_at": "2026-12-07T00:00:00.000Z",
        "updated_at": f"2026-12-07T00:{n // 60 % 60:02}:{n % 60:02}.000Z",
        "version": n + 2,
    }
    return DispatchReply(ok=True, snapshot=snapshot, events=[{"type": "Paid", "data": {"n": n}}])


def _recent(count: int) -> OrderedDict[str, DispatchReply]:
    return OrderedDict((f"{n:08x}-9c4b-4f4e-8a53-0242ac120002", _reply(n)) for n in range(count))


def test_packed_replies_come_back_whole_in_a_fraction_of_the_room() -> None:
    recent = _recent(1_000)
    replies = [RememberedReply(k, v) for k, v in recent.items()]
    packed = pack_replies(replies)
    assert unpack_replies(packed) == replies
    assert len(packed) * 5 < len(to_json(replies))


def test_all_replies_that_fit_are_carried_packed() -> None:
    recent = _recent(1_000)
    unpacked, packed = remembered_within(recent, LIMITS.max_carry_bytes)
    assert unpacked == []
    carried = EntityInput("Order", recent_packed=packed)
    assert carried_replies(carried, 1_000) == recent
    assert list(carried_replies(carried, 10)) == list(recent)[-10:]
    assert carried_replies(carried, 1_500) == recent
    assert list(carried_replies(carried, 999)) == list(recent)[1:]
    assert carried_replies(carried, 0) == OrderedDict()


def test_over_the_budget_the_newest_stay_whole_and_older_ids_are_still_known() -> None:
    recent = _recent(1_000)
    budget = 16_000
    unpacked, packed = remembered_within(recent, budget)
    assert packed is not None
    assert len(packed) + sum(len(to_json(r)) for r in unpacked) <= budget
    carried = carried_replies(EntityInput("Order", recent=unpacked, recent_packed=packed), 1_000)
    ids = list(recent)
    assert list(carried) == ids[len(ids) - len(carried) :]  # the newest, in order
    whole = [k for k, v in carried.items() if v.ok]
    assert whole == ids[len(ids) - len(whole) :]
    assert carried[whole[-1]] == recent[whole[-1]]
    older = [v for v in carried.values() if not v.ok]
    assert older, "older ids are kept with a small reply"
    assert all(v.error is not None and v.error.code == "ALREADY_APPLIED" for v in older)


def test_what_does_not_unpack_is_nothing_not_a_crash() -> None:
    bomb = base64.b64encode(zlib.compress(b"[" + b" " * (64 * LIMITS.max_carry_bytes) + b"]"))
    not_replies = base64.b64encode(zlib.compress(json.dumps([{"x": 1}]).encode()))
    for packed in (
        "",
        "not base64!",
        base64.b64encode(b"not zlib").decode(),
        bomb.decode(),
        not_replies.decode(),
    ):
        assert unpack_replies(packed) == []
    assert unpack_replies(None) == []


def test_what_is_packed_always_unpacks_however_well_it_compresses() -> None:
    # 1,000 replies of 40 kB that compress to almost nothing: 40 MB of JSON.
    recent = OrderedDict(
        (f"c{n}", DispatchReply(ok=True, snapshot={"blob": "k" * 40_000, "n": n}))
        for n in range(1_000)
    )
    unpacked, packed = remembered_within(recent, LIMITS.max_carry_bytes)
    replies = unpack_replies(packed)
    assert 0 < len(to_json(replies)) <= MAX_UNPACKED_BYTES
    assert [r.command_id for r in replies] == list(recent)[-len(replies) :]
    assert [r.command_id for r in unpacked] == list(recent)[
        -len(replies) - len(unpacked) : -len(replies)
    ]
