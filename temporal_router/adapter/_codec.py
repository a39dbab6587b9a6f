"""AES-GCM payload encryption: command payloads and entity state unreadable on the server."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

# What a strict codec decodes a payload it refuses to: no converter reads it, so a typed
# argument fails to decode (an Update is refused, a signal dropped), and the router's own
# handlers, which take raw payloads, refuse it by name. Shared with them, not public.
from ..workflows._messages import REFUSED_ENCODING

__all__ = ["ENCRYPTED_ENCODING", "REFUSED_ENCODING", "EncryptionCodec"]

ENCRYPTED_ENCODING = b"binary/encrypted"
_NONCE_BYTES = 12


def _key_bytes(key: bytes | str) -> bytes:
    raw = base64.b64decode(key, validate=True) if isinstance(key, str) else key
    if len(raw) not in (16, 24, 32):
        raise ValueError(
            f"an AES key is 16, 24 or 32 bytes (base64 in a str); got {len(raw)} bytes"
        )
    return raw


class EncryptionCodec(PayloadCodec):
    """Encrypts every payload with AES-GCM (``cryptography``; extra ``temporal-router[encryption]``).

    Strict (the default): a payload it did not encrypt, or cannot decrypt with a key it
    holds, decodes to an empty payload of encoding :data:`REFUSED_ENCODING` instead of its
    content, so a client without the key cannot slip plaintext past it (or wedge a worker
    with garbage: decoding never raises). ``strict=False`` passes unencrypted payloads
    through, to turn encryption on for a namespace that already has plain histories, and
    raises on payloads it cannot decrypt. ``key_id`` is stored with each payload to allow
    key rotation: pass older keys in ``previous_keys``.

    Example (one line, through the plugin)::

        RouterPlugin(orders, encryption_key=os.environ["ROUTER_KEY"])  # base64, 32 bytes
    """

    def __init__(
        self,
        key: bytes | str,
        *,
        key_id: str = "default",
        previous_keys: dict[str, bytes | str] | None = None,
        strict: bool = True,
    ) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "EncryptionCodec needs the 'cryptography' package: pip install 'temporal-router[encryption]'"
            ) from exc
        self.key_id = key_id
        self.strict = strict
        self._ciphers = {key_id: AESGCM(_key_bytes(key))}
        for kid, old in (previous_keys or {}).items():
            self._ciphers.setdefault(kid, AESGCM(_key_bytes(old)))

    @staticmethod
    def generate_key() -> str:
        """A new random 256-bit key, base64-encoded."""
        return base64.b64encode(os.urandom(32)).decode()

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload (metadata and data) into a new payload."""
        cipher = self._ciphers[self.key_id]
        out = []
        for payload in payloads:
            nonce = os.urandom(_NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), self.key_id.encode())
            out.append(
                Payload(
                    metadata={
                        "encoding": ENCRYPTED_ENCODING,
                        "encryption-key-id": self.key_id.encode(),
                    },
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt payloads this codec encrypted; others as ``strict`` says (class doc)."""
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
            return _REFUSED if self.strict else payload
        try:
            kid = payload.metadata.get("encryption-key-id", b"").decode()
            cipher = self._ciphers.get(kid)
            if cipher is None:
                raise ValueError(f"payload encrypted with unknown key id {kid!r}")
            nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
            decoded = Payload()
            decoded.ParseFromString(cipher.decrypt(nonce, sealed, kid.encode()))
        except Exception:
            if self.strict:
                return _REFUSED
            raise
        return decoded


_REFUSED = Payload(metadata={"encoding": REFUSED_ENCODING})
