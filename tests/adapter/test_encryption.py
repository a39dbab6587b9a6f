"""EncryptionCodec: one line through RouterPlugin(encryption_key=...), nothing readable on the
server, headers too with encrypt_headers=True, key rotation, unknown keys.

"Readable on the server" is checked on what the server stores: histories fetched by a client
without the codec, scanned both as the JSON export (with every base64 ``data`` field decoded)
and as the raw protobuf bytes of every event. A control run without encryption shows that
the same scan finds the markers when they are there.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Worker

from temporal_router import caller_context
from temporal_router.adapter import EncryptionCodec, RouterClient, RouterPlugin
from temporal_router.adapter._codec import ENCRYPTED_ENCODING, REFUSED_ENCODING
from temporal_router.testing import DevServer, unique_task_queue

from ._hook_entities import account_router
from ._hook_support import child_starts, eventually, hook_client, ok_data
from ._hook_workflows import CanWaitParent

KEY = EncryptionCodec.generate_key()


def _markers() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        name: f"{name}-{tag}-plaintext"
        for name in ("STATE", "COMMAND", "HOOKARG", "CALLER", "TENANT")
    }


def _walk_data(node: Any) -> Iterator[bytes]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "data" and isinstance(value, str):
                try:
                    yield base64.b64decode(value, validate=True)
                except ValueError:
                    yield value.encode()
            else:
                yield from _walk_data(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_data(item)


def readable(history: WorkflowHistory) -> bytes:
    """Everything a reader of the server's copy of ``history`` sees, as bytes."""
    text = history.to_json()
    raw = b"".join(event.SerializeToString() for event in history.events)
    decoded = b"\n".join(_walk_data(json.loads(text)))
    return b"\n".join([text.encode(), raw, decoded])


def key_ids(history: WorkflowHistory) -> set[str]:
    """The key ids of every encrypted payload in ``history``."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            metadata = node.get("metadata")
            if isinstance(metadata, dict) and "encryption-key-id" in metadata:
                found.add(base64.b64decode(metadata["encryption-key-id"]).decode())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(history.to_json()))
    return found


async def stored(plain: Client, workflow_id: str, run_id: str | None = None) -> bytes:
    return readable(await plain.get_workflow_handle(workflow_id, run_id=run_id).fetch_history())


async def _exercise(client: Client, queue: str, markers: dict[str, str]) -> tuple[str, str]:
    """Create an account, send it a command and run a hook through it; return the ids of
    the entity and of its hook."""
    accounts = RouterClient(client, account_router, task_queue=queue)
    entity = f"secret-{uuid.uuid4().hex[:10]}"
    with caller_context(identity=markers["CALLER"], tenant=markers["TENANT"]):
        await accounts.create(entity, initial_state="Open", data={"notes": [markers["STATE"]]})
        note = await accounts.dispatch(
            entity, {"type": "Note", "payload": {"text": markers["COMMAND"]}}
        )
        assert note.ok, note.error
        hooked = await accounts.dispatch(
            entity, {"type": "Exec", "payload": {"spec": {"tag": markers["HOOKARG"]}}}
        )
    data = ok_data(hooked)
    # The codec's own client reads everything back.
    assert data.notes == [markers["STATE"], markers["COMMAND"]]
    assert data.answers[0]["tag"] == markers["HOOKARG"]
    assert data.answers[0]["caller"] == markers["CALLER"]
    [start] = await child_starts(client.get_workflow_handle(entity))
    return entity, start.workflow_id


async def test_without_encryption_the_scan_finds_every_marker(
    temporal_dev_server: DevServer, temporal_client: Client
) -> None:
    markers = _markers()
    queue = unique_task_queue("plain")
    async with hook_client(temporal_dev_server.target, [queue], account_router) as client:
        entity, hook_id = await _exercise(client, queue, markers)
    seen = await stored(temporal_client, entity) + await stored(temporal_client, hook_id)
    for marker in markers.values():
        assert marker.encode() in seen, marker


async def test_one_line_encryption_hides_payloads_and_state_but_not_headers(
    temporal_dev_server: DevServer, temporal_client: Client
) -> None:
    markers = _markers()
    queue = unique_task_queue("encrypted")
    async with hook_client(
        temporal_dev_server.target, [queue], account_router, encryption_key=KEY
    ) as client:
        entity, hook_id = await _exercise(client, queue, markers)
    entity_seen = await stored(temporal_client, entity)
    hook_seen = await stored(temporal_client, hook_id)
    for name in ("STATE", "COMMAND", "HOOKARG"):
        assert markers[name].encode() not in entity_seen, name
        assert markers[name].encode() not in hook_seen, name
    assert ENCRYPTED_ENCODING in entity_seen
    # Headers are not payload-encoded by default: the caller travels in clear.
    assert markers["CALLER"].encode() in entity_seen
    assert markers["CALLER"].encode() in hook_seen


async def test_encrypt_headers_hides_the_caller_too(
    temporal_dev_server: DevServer, temporal_client: Client
) -> None:
    markers = _markers()
    queue = unique_task_queue("encrypted-headers")
    async with hook_client(
        temporal_dev_server.target,
        [queue],
        account_router,
        encryption_key=KEY,
        encrypt_headers=True,
    ) as client:
        entity, hook_id = await _exercise(client, queue, markers)
    seen = await stored(temporal_client, entity) + await stored(temporal_client, hook_id)
    for name, marker in markers.items():
        assert marker.encode() not in seen, name


async def test_hook_answers_carried_across_continue_as_new_are_encrypted(
    temporal_dev_server: DevServer, temporal_client: Client
) -> None:
    # The carried inbox travels in the memo of the next run; the codec must cover it.
    queue = unique_task_queue("encrypted-can")
    async with hook_client(
        temporal_dev_server.target, [queue], account_router, encryption_key=KEY
    ) as client:
        parent_id = f"can-secret-{uuid.uuid4().hex[:10]}"
        handle = await client.start_workflow(
            CanWaitParent.run, args=[queue, "secret-answer"], id=parent_id, task_queue=queue
        )
        first_run = handle.result_run_id
        [start] = await eventually(lambda: child_starts(handle))
        child = client.get_workflow_handle(start.workflow_id)
        await child.signal("release")
        await child.result()

        async def answered() -> bool:
            history = await client.get_workflow_handle(parent_id, run_id=first_run).fetch_history()
            return any(
                e.HasField("workflow_execution_signaled_event_attributes")
                and e.workflow_execution_signaled_event_attributes.signal_name != "go"
                for e in history.events
            )

        await eventually(answered)
        await handle.signal(CanWaitParent.go)
        out = await client.get_workflow_handle(parent_id).result()
    assert out["answer"]["tag"] == "in-flight"
    runs = [w.run_id async for w in temporal_client.list_workflows(f"WorkflowId = '{parent_id}'")]
    seen = b"".join([await stored(temporal_client, parent_id, run) for run in runs])
    assert b"in-flight" not in seen
    assert b"temporal_router.inbox" in seen  # the memo is there, encrypted


async def test_key_rotation_keeps_old_histories_readable(
    temporal_dev_server: DevServer, temporal_client: Client
) -> None:
    old_key, new_key = EncryptionCodec.generate_key(), EncryptionCodec.generate_key()
    queue = unique_task_queue("rotation")
    entity = f"rotated-{uuid.uuid4().hex[:10]}"

    async with hook_client(
        temporal_dev_server.target, [queue], account_router, encryption_key=old_key
    ) as client:
        accounts = RouterClient(client, account_router, task_queue=queue)
        await accounts.create(entity, initial_state="Open", data={"notes": ["under-old-key"]})

    rotated = EncryptionCodec(new_key, key_id="2024-06", previous_keys={"default": old_key})
    converter = dataclasses.replace(DataConverter.default, payload_codec=rotated)
    client = await Client.connect(
        temporal_dev_server.target,
        data_converter=converter,
        plugins=[RouterPlugin(account_router)],
    )
    # No cache: the worker must replay the history written under the old key.
    async with Worker(client, task_queue=queue, max_cached_workflows=0):
        accounts = RouterClient(client, account_router, task_queue=queue)
        result = await accounts.dispatch(entity, {"type": "Note", "payload": {"text": "new"}})
        assert ok_data(result).notes == ["under-old-key", "new"]
        assert (await accounts.get(entity)).data.notes == ["under-old-key", "new"]
    history = await temporal_client.get_workflow_handle(entity).fetch_history()
    assert key_ids(history) == {"default", "2024-06"}  # payloads under both keys

    # Without the previous key, the old payloads cannot be read.
    stranger = EncryptionCodec(new_key, key_id="2024-06", strict=False)
    start = history.events[0].workflow_execution_started_event_attributes
    with pytest.raises(ValueError, match="unknown key id 'default'"):
        await stranger.decode(list(start.input.payloads))


# -- the codec on its own --------------------------------------------------------------------------


def _payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


async def test_codec_round_trip_hides_data_and_metadata() -> None:
    codec = EncryptionCodec(KEY, key_id="k1")
    original = _payload("top secret")
    [sealed] = await codec.encode([original])
    assert sealed.metadata["encoding"] == ENCRYPTED_ENCODING
    assert sealed.metadata["encryption-key-id"] == b"k1"
    assert b"top secret" not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.data
    assert await codec.decode([sealed]) == [original]


async def test_codec_uses_a_fresh_nonce_per_payload() -> None:
    codec = EncryptionCodec(KEY)
    first, second = await codec.encode([_payload("same"), _payload("same")])
    assert first.data != second.data


async def test_a_lenient_codec_passes_unencrypted_payloads_through() -> None:
    codec = EncryptionCodec(KEY, strict=False)
    plain = _payload("old, unencrypted")
    assert await codec.decode([plain]) == [plain]


async def test_a_strict_codec_refuses_what_it_cannot_decrypt_and_never_raises() -> None:
    codec = EncryptionCodec(KEY, key_id="k")
    [sealed] = await codec.encode([_payload("x")])
    tampered = Payload()
    tampered.CopyFrom(sealed)
    tampered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    garbage = Payload(metadata={"encoding": ENCRYPTED_ENCODING}, data=b"short")
    decoded = await codec.decode([_payload("plaintext"), tampered, garbage])
    assert [p.metadata["encoding"] for p in decoded] == [REFUSED_ENCODING] * 3
    assert all(p.data == b"" for p in decoded)


async def test_codec_decodes_payloads_of_previous_keys_and_encodes_with_the_new_one() -> None:
    old_key, new_key = os.urandom(32), os.urandom(16)
    old = EncryptionCodec(old_key, key_id="v1")
    [sealed_old] = await old.encode([_payload("from v1")])
    new = EncryptionCodec(new_key, key_id="v2", previous_keys={"v1": old_key})
    assert await new.decode([sealed_old]) == [_payload("from v1")]
    [sealed_new] = await new.encode([_payload("from v2")])
    assert sealed_new.metadata["encryption-key-id"] == b"v2"
    with pytest.raises(ValueError, match="unknown key id 'v2'"):
        await EncryptionCodec(old_key, key_id="v1", strict=False).decode([sealed_new])


async def test_codec_raises_on_an_unknown_key_id() -> None:
    [sealed] = await EncryptionCodec(KEY, key_id="lost").encode([_payload("x")])
    with pytest.raises(ValueError, match="unknown key id 'lost'"):
        await EncryptionCodec(KEY, key_id="other", strict=False).decode([sealed])


async def test_codec_detects_a_wrong_key_and_tampering() -> None:
    codec = EncryptionCodec(KEY, key_id="k", strict=False)
    [sealed] = await codec.encode([_payload("x")])
    with pytest.raises(InvalidTag):
        await EncryptionCodec(EncryptionCodec.generate_key(), key_id="k", strict=False).decode(
            [sealed]
        )
    tampered = Payload()
    tampered.CopyFrom(sealed)
    tampered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(InvalidTag):
        await codec.decode([tampered])
    # The key id is authenticated: moving a payload to another key id fails.
    same_key_other_id = EncryptionCodec(KEY, key_id="k2", previous_keys={"k": KEY}, strict=False)
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata["encryption-key-id"] = b"k2"
    with pytest.raises(InvalidTag):
        await same_key_other_id.decode([relabelled])


@pytest.mark.parametrize("size", [16, 24, 32])
def test_codec_accepts_aes_key_sizes_as_bytes_or_base64(size: int) -> None:
    raw = os.urandom(size)
    EncryptionCodec(raw)
    EncryptionCodec(base64.b64encode(raw).decode())


@pytest.mark.parametrize(
    "key", [b"short", os.urandom(31), base64.b64encode(os.urandom(20)).decode()]
)
def test_codec_rejects_keys_of_other_sizes(key: bytes | str) -> None:
    with pytest.raises(ValueError, match="16, 24 or 32 bytes"):
        EncryptionCodec(key)


def test_codec_rejects_a_str_key_that_is_not_base64() -> None:
    with pytest.raises(ValueError, match="base64"):  # binascii.Error is a ValueError
        EncryptionCodec("not base64 at all!")


def test_generated_keys_are_random_256_bit_base64() -> None:
    first, second = EncryptionCodec.generate_key(), EncryptionCodec.generate_key()
    assert first != second
    assert len(base64.b64decode(first)) == 32


def test_router_plugin_encryption_key_installs_the_codec() -> None:
    plugin = RouterPlugin(account_router, encryption_key=KEY)
    assert isinstance(plugin.codec, EncryptionCodec)
    assert RouterPlugin(account_router).codec is None
