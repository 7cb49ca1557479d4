"""A given world's listener rule set by hand to the weights a test starts from: the worlds of events/local and
examples save their rule as `rule` (an ALB's CreateRule response, or a VPC Lattice rule with its `listener`)."""

from __future__ import annotations

from mesh_rollout_local.runner import OfflineAccount


def set_rule_weights(account: OfflineAccount, weights: dict[str, int]) -> None:
    """Forward the world's rule to these target groups, by name, with these weights (in this order)."""
    saved = account.saved
    if "Rules" in saved["rule"]:  # ALB: CreateRule's response
        elbv2 = account.client("elbv2")
        arns = {g["TargetGroupName"]: g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]}
        targets = [{"TargetGroupArn": arns[name], "Weight": weight} for name, weight in weights.items()]
        forward = {"Type": "forward", "ForwardConfig": {"TargetGroups": targets}}
        elbv2.modify_rule(RuleArn=saved["rule"]["Rules"][0]["RuleArn"], Actions=[forward])
        return
    lattice, listener = account.client("vpc-lattice"), saved["listener"]
    ids = {g["name"]: g["id"] for g in lattice.list_target_groups()["items"]}
    lattice.update_rule(
        serviceIdentifier=listener["serviceId"],
        listenerIdentifier=listener["id"],
        ruleIdentifier=saved["rule"]["id"],
        action={"forward": {"targetGroups": [{"targetGroupIdentifier": ids[n], "weight": w} for n, w in weights.items()]}},
    )
