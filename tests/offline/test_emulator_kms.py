"""The emulator's KMS: a symmetric key gets no key pair until something reads it; asymmetric keys are as moto makes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.kms.models import kms_backends

from mesh_rollout_local import emulator
from mesh_rollout_local.emulator.kms import DeferredPrivateKey


@pytest.fixture
def kms() -> Iterator[Any]:
    emulator.install()
    with mock_aws():
        yield boto3.client("kms", region_name="us-west-2")


def private_key(key_id: str) -> Any:
    return kms_backends["123456789012"]["us-west-2"].keys[key_id].private_key


@pytest.mark.parametrize("spec", ["SYMMETRIC_DEFAULT", "HMAC_256"])
def test_a_symmetric_key_is_created_without_a_key_pair(kms: Any, spec: str) -> None:
    usage = "GENERATE_VERIFY_MAC" if spec.startswith("HMAC") else "ENCRYPT_DECRYPT"
    key = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    assert (key["KeySpec"], key["KeyUsage"]) == (spec, usage)
    if spec == "SYMMETRIC_DEFAULT":
        blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"weights")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"weights"
    deferred = private_key(key["KeyId"])
    assert isinstance(deferred, DeferredPrivateKey) and not deferred.generated


def test_a_symmetric_keys_pair_is_made_when_first_read_as_moto_made_it(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    public = kms.get_public_key(KeyId=key_id)  # moto answers with its RSA pair's public key, as before
    assert public["PublicKey"] and private_key(key_id).generated
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == public["PublicKey"]  # one pair, kept


def test_an_asymmetric_key_gets_its_pair_at_create_key_and_signs(kms: Any) -> None:
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert not isinstance(private_key(key_id), DeferredPrivateKey)
    signed = kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    verified = kms.verify(KeyId=key_id, Message=b"m", Signature=signed, SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert verified["SignatureValid"]
