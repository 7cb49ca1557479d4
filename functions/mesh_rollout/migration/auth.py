"""authType AWS_IAM on the Lattice service network and services: the auth policy it needs, and what clients need.

With AWS_IAM and no auth policy VPC Lattice denies every request, and a request is allowed only when it is signed
(SigV4/SigV4A, service name `vpc-lattice-svcs`) and both the auth policy and the caller's own IAM policy allow
`vpc-lattice-svcs:Invoke` (https://docs.aws.amazon.com/vpc-lattice/latest/ug/auth-policies.html,
https://docs.aws.amazon.com/vpc-lattice/latest/ug/sigv4-authenticated-requests.html).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, error_code
from mesh_rollout.aws.specs import request_problems
from mesh_rollout.errors import InvalidRolloutInput

CLIENTS_OF_AWS_IAM = (
    "authType AWS_IAM: every client must sign its requests with SigV4 (or SigV4A) for the service name"
    " vpc-lattice-svcs, with the header x-amz-content-sha256: UNSIGNED-PAYLOAD (Lattice does not sign payloads),"
    " and its IAM role needs vpc-lattice-svcs:Invoke on the Lattice services it calls; the auth policy must allow"
    " it too. Unsigned requests (Envoy's, today's clients') are denied"
)
CLIENTS_OF_NONE = "authType NONE: clients call the services as before, unsigned; their security groups decide"


def check_auth(auth_type: str, policy: dict[str, Any] | None) -> None:
    """AWS_IAM needs an auth policy (Lattice denies everything without one); NONE takes none (it would not apply)."""
    if auth_type == "AWS_IAM" and policy is None:
        raise InvalidRolloutInput(
            "lattice.authPolicy",
            "authType AWS_IAM denies every request without an auth policy: give the IAM policy document (e.g. Allow"
            " vpc-lattice-svcs:Invoke to your callers' roles)",
        )
    if policy is None:
        return
    if auth_type != "AWS_IAM":
        raise InvalidRolloutInput("lattice.authPolicy", "an auth policy applies only with authType AWS_IAM")
    if not isinstance(policy.get("Statement"), list | dict) or not policy["Statement"]:
        raise InvalidRolloutInput("lattice.authPolicy.Statement", "an IAM policy document needs its Statement")
    problems = request_problems(
        "vpc-lattice", "PutAuthPolicy", {"resourceIdentifier": "x" * 20, "policy": policy_text(policy)}, "lattice.authPolicy"
    )
    if problems:
        raise InvalidRolloutInput.of(problems)


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, separators=(",", ":"), sort_keys=True)


def clients_note(auth_type: str) -> str:
    return CLIENTS_OF_AWS_IAM if auth_type == "AWS_IAM" else CLIENTS_OF_NONE


def ensure_auth_policy(lattice: Any, identifier: str, name: str, wanted: dict[str, Any] | None) -> list[str]:
    """The auth policy of a service network or service (`identifier`), put unless the same document is there."""
    if wanted is None:
        return []
    try:
        current = lattice.get_auth_policy(resourceIdentifier=identifier).get("policy")
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            with aws_errors(f"GetAuthPolicy {name}"):
                raise
        current = None
    if current and json.loads(current) == wanted:
        return []
    with aws_errors(f"PutAuthPolicy {name}"):
        lattice.put_auth_policy(resourceIdentifier=identifier, policy=policy_text(wanted))
    return [f"put the auth policy of {name}"]


def refuse_other_auth_type(current: str | None, wanted: str, name: str, where: str) -> None:
    """An existing network or service whose authType is not AWS_IAM as asked would leave its policy inactive."""
    if wanted == "AWS_IAM" and current != wanted:
        raise InvalidRolloutInput(
            where,
            f"{name} exists with authType {current}: its auth policy would not apply; set its authType to AWS_IAM"
            " (UpdateServiceNetwork / UpdateService) or delete it, then re-run",
        )


def ensure_network_auth(lattice: Any, network_id: str, network: dict[str, Any]) -> list[str]:
    """The service network's auth policy when the topology asks for AWS_IAM."""
    if network.get("authPolicy") is None:
        return []
    with aws_errors(f"GetServiceNetwork {network['name']}"):
        current = lattice.get_service_network(serviceNetworkIdentifier=network_id).get("authType")
    name = f"service network {network['name']}"
    refuse_other_auth_type(current, network["authType"], name, "lattice.authType")
    return ensure_auth_policy(lattice, network_id, name, network["authPolicy"])


def ensure_service_auth(lattice: Any, service_id: str, current: str | None, service: dict[str, Any]) -> list[str]:
    """A Lattice service's auth policy when the topology asks for AWS_IAM."""
    if service.get("authPolicy") is None:
        return []
    name = f"service {service['name']}"
    refuse_other_auth_type(current, service["authType"], name, "lattice.authType")
    return ensure_auth_policy(lattice, service_id, name, service["authPolicy"])
