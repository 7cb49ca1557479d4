"""The offline deploy (deploy.py) of a template whose functions' Policies hold what it does not carry: a managed
policy's ARN or name, a SAM policy template. In a module of its own: an account is open at a time (moto's state is
the process's), and test_emulator_iam_simulate.py keeps one open for its module."""

from __future__ import annotations

from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import ROOT


def test_a_managed_policy_or_a_sam_policy_template_of_a_function_is_skipped_by_the_offline_deploy() -> None:
    # Given the template with a managed policy's ARN, a managed policy's name and a SAM policy template put first
    # in a function's Policies (the template uses none; SAM takes them)
    account = OfflineAccount(ROOT / "template.yaml")
    function = next(f for f in account.template.functions if account.template.resources[f]["Properties"].get("Policies"))
    policies = account.template.resources[function]["Properties"]["Policies"]
    policies[:0] = ["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess", "AWSLambdaExecute", {"SQSPollerPolicy": {"QueueName": "q"}}]
    # When the offline stack is deployed
    with account:
        # Then the role has the function's inline policies only, numbered by their place in the list, as SAM names them
        names = account.client("iam").list_role_policies(RoleName=f"{function}Role")["PolicyNames"]
        assert names == [f"{function}RolePolicy{i}" for i in range(3, len(policies))]
