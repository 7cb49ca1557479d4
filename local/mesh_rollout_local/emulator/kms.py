"""KMS in the emulated account: a symmetric key gets no RSA key pair at CreateKey.

moto 5.2.5 generates a 2048-bit RSA private key at every CreateKey whatever the KeySpec (`generate_private_key` falls
back to RSA), about a tenth of a second of CPU; every offline account creates the stack's customer managed key
(SYMMETRIC_DEFAULT, for the topic and the table). On AWS a symmetric encryption key is a 256-bit AES key and an HMAC
key a symmetric key: neither has a key pair ("Key spec reference",
https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html; CreateKey's `KeySpec`,
https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html). moto reads the pair of such a key only if
Sign, Verify or GetPublicKey is called on it (AWS refuses those for it), so it is now generated then, on first use:
every answer is as before. Asymmetric specs (RSA_*, ECC_*, SM2) still get their pair at CreateKey, as moto made it.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.kms import models
from moto.kms.utils import KeySpec

_GENERATE = models.generate_private_key
_SYMMETRIC = frozenset({KeySpec.SYMMETRIC_DEFAULT.value, *KeySpec.hmac_key_specs()})


class DeferredPrivateKey:
    """moto's private key for a symmetric KMS key, generated when something first reads it."""

    def __init__(self, key_spec: str) -> None:
        self._key_spec, self._lock = key_spec, threading.Lock()
        self._key: Any = None

    @property
    def generated(self) -> bool:
        return self._key is not None

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._key is None:
                self._key = _GENERATE(self._key_spec)
        return getattr(self._key, name)


def generate_private_key(key_spec: str) -> Any:
    return DeferredPrivateKey(key_spec) if key_spec in _SYMMETRIC else _GENERATE(key_spec)


def install() -> None:
    models.generate_private_key = generate_private_key  # type: ignore[assignment]
