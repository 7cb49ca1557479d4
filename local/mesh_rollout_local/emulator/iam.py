"""IAM in the emulated account: the AWS managed policy ECS's infrastructure role for VPC Lattice carries.

moto 5.2.5 loads no AWS managed policies unless asked (MOTO_IAM_LOAD_MANAGED_POLICIES), and its list has no
AmazonECSInfrastructureRolePolicyForVpcLattice. It is added to every account here, its document as the AWS Managed
Policy Reference Guide publishes it (version v1, created 2024-11-15), so a role can attach it by ARN.
"""

from __future__ import annotations

from typing import Any

from moto.iam.models import AWSManagedPolicy, IAMBackend, ManagedPolicy

ECS_LATTICE_POLICY = "AmazonECSInfrastructureRolePolicyForVpcLattice"
ECS_LATTICE_POLICY_DATA = {
    "DefaultVersionId": "v1",
    "Path": "/",
    "CreateDate": "2024-11-15T20:02:00+00:00",
    "UpdateDate": "2024-11-15T20:02:00+00:00",
    "Document": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ManagedVpcLatticeTargetRegistration",
                "Effect": "Allow",
                "Action": ["vpc-lattice:RegisterTargets", "vpc-lattice:DeregisterTargets"],
                "Resource": ["arn:aws:vpc-lattice:*:*:targetgroup/*"],
            },
            {
                "Sid": "DescribeVpcLatticeTargetGroup",
                "Effect": "Allow",
                "Action": "vpc-lattice:GetTargetGroup",
                "Resource": ["arn:aws:vpc-lattice:*:*:targetgroup/*"],
            },
            {
                "Sid": "ListVpcLatticeTargets",
                "Effect": "Allow",
                "Action": "vpc-lattice:ListTargets",
                "Resource": ["arn:aws:vpc-lattice:*:*:targetgroup/*"],
            },
            {
                "Sid": "DescribeEc2Resources",
                "Effect": "Allow",
                "Action": ["ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeInstances"],
                "Resource": ["*"],
            },
        ],
    },
}


def _with_the_ecs_lattice_policy(original: Any) -> Any:
    def _init_managed_policies(self: IAMBackend) -> dict[str, ManagedPolicy]:
        policies: dict[str, ManagedPolicy] = original(self)
        policy = AWSManagedPolicy.from_data(ECS_LATTICE_POLICY, self.account_id, self.region_name, ECS_LATTICE_POLICY_DATA)
        policies.setdefault(policy.arn, policy)
        return policies

    return _init_managed_policies


def install() -> None:
    IAMBackend._init_managed_policies = _with_the_ecs_lattice_policy(IAMBackend._init_managed_policies)  # type: ignore[method-assign]
