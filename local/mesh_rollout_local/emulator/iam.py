"""IAM in the emulated account: the AWS managed policy ECS's infrastructure role for VPC Lattice carries, and
SimulatePrincipalPolicy.

moto 5.2.5 loads no AWS managed policies unless asked (MOTO_IAM_LOAD_MANAGED_POLICIES), and its list has no
AmazonECSInfrastructureRolePolicyForVpcLattice. It is added to every account here, its document as the AWS Managed
Policy Reference Guide publishes it (version v1, created 2024-11-15), so a role can attach it by ARN.

moto 5.2.5 has no SimulatePrincipalPolicy. Here it evaluates a role's, user's or group's identity policies (inline and
attached managed ones; a user's groups' too; a permissions boundary bounds them) with iam_policy.py's evaluator, after
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html and
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html:
- One EvaluationResult per action (ResourceArns defaults to "*"), paged by MaxItems (default 100) and Marker, as the
  pinned model's EvaluationResult says: "The simulator now returns a single EvaluationResult per action, regardless of
  how many resource ARNs are provided". With ResourceArns, each resource's own answer is in ResourceSpecificResults
  (EvalResourceName the given ARN, its EvalResourceDecision, MatchedStatements, MissingContextValues, and a
  permissions boundary's detail); the top level aggregates them: EvalDecision "reflects the most restrictive decision
  across all resources" (explicitDeny, then implicitDeny, then allowed), MatchedStatements are "the union of matched
  statements across all requested resources" whose decision is the top-level one ("Only statements that contributed
  to the reported decision"), MissingContextValues "the deduplicated set of missing context values across all
  requested resources", AllowedByPermissionsBoundary true only if the boundary allows every resource, and
  EvalDecisionDetails is empty ("If the simulation evaluates policies within the same account and includes a
  resource ARN, then the parameter is present but the response is empty"). For "*" the result carries its
  MissingContextValues and no ResourceSpecificResults.
- The top-level EvalResourceName is always "*". The model says it is "The ARN template for the simulated resource type
  (for example, arn:${Partition}:s3:::${BucketName}/${KeyName}), or * if no ARN format is defined for the action.
  This is not a specific customer-provided resource ARN." The template comes from the action's resource type in the
  Service Authorization Reference, which this emulator does not carry (the project's roles name some 25 resource types
  of twelve services), and a template guessed from the given ARN could name the wrong type: so "*", which is wrong
  for actions that have an ARN format, and a caller must read ResourceSpecificResults for the resource, as the model
  tells it to.
- An explicit Deny that applies wins (its statements are the only MatchedStatements), then any Allow that applies;
  nothing applying is implicitDeny. ContextEntries give condition keys their values (one value per key).
- What the evaluator cannot decide is never "allowed": a statement whose Condition names a key the request did not
  give, or a policy with an element or operator iam_policy.py does not know (NotEvaluated), makes the answer
  implicitDeny with no MatchedStatements (the missing keys listed in MissingContextValues); a Deny that applies
  still gives explicitDeny. MatchedStatements name each deciding policy once (SourcePolicyId: an inline policy's
  name, a managed policy's ARN; SourcePolicyType "role" / "user" / "group" / "aws-managed" / "user-managed"),
  without StartPosition / EndPosition (AWS lists each statement, told apart by those positions).
- Where that "cannot decide" differs from AWS (IAM user guide, condition operators,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html: a key
  missing from the request makes a condition false, but a negated operator's such as StringNotLike true, except for
  ...IfExists and Null): a Deny with a negated operator whose key is missing (the rest of it matching) is
  explicitDeny in AWS, implicitDeny here; an Allow with one may be allowed in AWS, is implicitDeny here; a statement
  with a positive operator whose key is missing does not apply in AWS (so a Deny of it may leave the answer
  allowed), here it leaves the answer implicitDeny; ...IfExists (and Null, ForAnyValue, ForAllValues, and the
  operators iam_policy.py does not know) are not evaluated, so a policy with one is implicitDeny here whatever AWS
  answers. The emulator never answers "allowed" when unsure; it may answer implicitDeny where AWS says explicitDeny
  or allowed.
- PolicySourceArn of no role, user or group of the account: NoSuchEntity. An ARN that names no IAM role, user or
  group (a function's, say), an action without its service prefix, a bad Marker, and the inputs this emulator
  does not simulate (PolicyInputList, PermissionsBoundaryPolicyInputList, PolicyExclusionList, ResourcePolicy,
  ResourceOwner, CallerArn, ResourceHandlingOption; a condition key with several values): InvalidInput, rather
  than an answer that might say "allowed" where AWS would not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.core.responses import ActionResult
from moto.iam.exceptions import InvalidInput, NoSuchEntity
from moto.iam.models import AWSManagedPolicy, IAMBackend, ManagedPolicy
from moto.iam.responses import IamResponse

from mesh_rollout_local.iam_policy import NotEvaluated, Request, Statement

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


# --- SimulatePrincipalPolicy -----------------------------------------------------------------------------------

NOT_SIMULATED = (
    "PolicyInputList",
    "PermissionsBoundaryPolicyInputList",
    "PolicyExclusionList",
    "ResourcePolicy",
    "ResourceOwner",
    "CallerArn",
    "ResourceHandlingOption",
)
_PRINCIPAL_ARN = re.compile(r"arn:[\w-]+:iam::(\d{12}):(role|user|group)(/.*)?/([\w+=,.@-]+)")


@dataclass(frozen=True)
class Policy:
    """One identity policy of the principal: where it comes from, and its statements (or why they can't be read)."""

    source_id: str
    source_type: str  # the model's PolicySourceType
    statements: tuple[Statement, ...] = ()
    unreadable: str = ""  # NotEvaluated's reason, when a statement could not be parsed


@dataclass(frozen=True)
class Verdict:
    decision: str  # "allowed" | "explicitDeny" | "implicitDeny"
    matched: tuple[Policy, ...] = ()  # the policies whose statements decided it (one entry per statement)
    missing: tuple[str, ...] = ()  # condition keys a statement that might apply needs and the request lacks


def _document(raw: Any) -> dict[str, Any]:
    """A policy document as moto keeps it: a dict, JSON text, or JSON text URL-encoded."""
    if isinstance(raw, dict):
        return raw
    text = str(raw)
    return dict(json.loads(text if text.lstrip().startswith("{") else unquote(text)))


def _policy(source_id: str, source_type: str, raw: Any) -> Policy:
    try:
        listed = _document(raw).get("Statement", [])
        listed = [listed] if isinstance(listed, dict) else listed
        return Policy(source_id, source_type, tuple(Statement.parse(statement) for statement in listed))
    except (NotEvaluated, KeyError, TypeError, ValueError) as error:
        return Policy(source_id, source_type, unreadable=f"{source_id}: {error}")


def _managed(policy: ManagedPolicy) -> Policy:
    version = next((v for v in policy.versions if v.is_default), policy.versions[-1])
    kind = "aws-managed" if isinstance(policy, AWSManagedPolicy) or ":aws:policy/" in policy.arn else "user-managed"
    return _policy(policy.arn, kind, version.document)


def _holder_policies(holder: Any, kind: str) -> Iterator[Policy]:
    """A role's, user's or group's inline policies, then its attached managed policies."""
    for name, document in holder.policies.items():
        yield _policy(name, kind, document)
    for managed in holder.managed_policies.values():
        yield _managed(managed)


def principal_policies(backend: IAMBackend, arn: str) -> tuple[list[Policy], list[Policy] | None]:
    """The identity policies of the role, user or group `arn` names, and its permissions boundary's (None if it has
    none); NoSuchEntity if the account has no such principal."""
    found = _PRINCIPAL_ARN.fullmatch(arn)
    if not found:
        raise InvalidInput(f"PolicySourceArn {arn} is not the ARN of an IAM role, user or group")
    if found.group(1) != backend.account_id:
        raise NoSuchEntity(f"PolicySourceArn {arn} is not a principal of this account")
    kind, name = found.group(2), found.group(4)
    holder: Any
    holders: list[tuple[Any, str]]
    if kind == "role":
        holder = next((r for r in backend.get_roles() if r.arn == arn), None)
        holders = [(holder, "role")]
    elif kind == "user":
        holder = backend.users.get(name)
        holder = holder if holder is not None and holder.arn == arn else None
        holders = [(holder, "user")] + [(g, "group") for g in backend.groups.values() if holder in g.users]
    else:
        holder = backend.groups.get(name)
        holder = holder if holder is not None and holder.arn == arn else None
        holders = [(holder, "group")]
    if holder is None:
        raise NoSuchEntity(f"The {kind} with ARN {arn} cannot be found.")
    policies = [policy for each, each_kind in holders for policy in _holder_policies(each, each_kind)]
    boundary_arn = getattr(holder, "permissions_boundary_arn", None)
    if not boundary_arn:
        return policies, None
    boundary = backend.managed_policies.get(boundary_arn)
    unreadable = Policy(boundary_arn, "aws-managed", unreadable=f"permissions boundary {boundary_arn} not found")
    return policies, [_managed(boundary) if boundary else unreadable]


def evaluate(policies: list[Policy], request: Request) -> Verdict:
    """IAM's order over all the principal's identity policies; see the module's docstring for what is undecided."""
    applying: dict[str, list[Policy]] = {"Allow": [], "Deny": []}
    undecided: dict[str, list[Statement]] = {"Allow": [], "Deny": []}
    unreadable = any(policy.unreadable for policy in policies)
    for policy in policies:
        for statement in policy.statements:
            try:
                applies = statement.applies(request)
            except NotEvaluated:
                unreadable = True
                continue
            if applies:
                applying[statement.effect].append(policy)
            elif applies is None:
                undecided[statement.effect].append(statement)
    if applying["Deny"]:
        return Verdict("explicitDeny", tuple(applying["Deny"]))
    missing = tuple(
        sorted(
            {
                key
                for statement in undecided["Allow"] + undecided["Deny"]
                for keys in statement.condition.values()
                for key in keys
                if key not in request.context
            }
        )
    )
    if unreadable or undecided["Deny"] or not applying["Allow"]:
        return Verdict("implicitDeny", (), missing)
    return Verdict("allowed", tuple(applying["Allow"]), missing)


def _bounded(identity: Verdict, boundary: Verdict | None) -> tuple[Verdict, dict[str, Any]]:
    """A permissions boundary caps what the identity policies allow; an explicit Deny in either wins."""
    if boundary is None:
        return identity, {}
    detail = {"PermissionsBoundaryDecisionDetail": {"AllowedByPermissionsBoundary": boundary.decision == "allowed"}}
    if identity.decision == "explicitDeny" or boundary.decision == "explicitDeny":
        return (identity if identity.decision == "explicitDeny" else boundary), detail
    if boundary.decision != "allowed":
        return Verdict("implicitDeny", (), tuple(sorted({*identity.missing, *boundary.missing}))), detail  # each once
    return identity, detail


def _statements(verdict: Verdict) -> list[dict[str, str]]:
    """One entry per policy (AWS lists each statement, told apart by positions this emulator does not give)."""
    policies = dict.fromkeys((p.source_id, p.source_type) for p in verdict.matched)
    return [{"SourcePolicyId": source_id, "SourcePolicyType": source_type} for source_id, source_type in policies]


def _context(entries: list[dict[str, Any]]) -> dict[str, str]:
    context = {}
    for entry in entries:
        values = entry.get("ContextKeyValues") or []
        if len(values) != 1:
            raise InvalidInput(
                f"ContextEntries: {entry.get('ContextKeyName')} has {len(values)} values; this emulator "
                "simulates a condition key with exactly one value"
            )
        context[str(entry["ContextKeyName"])] = str(values[0])
    return context


# the most restrictive decision wins the top level (API_EvaluationResult: "if any resource produces explicitDeny, the
# top-level decision is explicitDeny")
_RESTRICTIVE = {"explicitDeny": 0, "implicitDeny": 1, "allowed": 2}


def _evaluation_result(action: str, verdicts: list[tuple[str, Verdict, dict[str, Any]]], listed: bool) -> dict[str, Any]:
    """One action's EvaluationResult over its resources' verdicts (resource, verdict, boundary detail); `listed`:
    the request named ResourceArns (otherwise the one resource is "*"). See the module's docstring."""
    decision = min((verdict.decision for _, verdict, _ in verdicts), key=_RESTRICTIVE.__getitem__)
    deciding = tuple(policy for _, verdict, _ in verdicts if verdict.decision == decision for policy in verdict.matched)
    missing = sorted({key for _, verdict, _ in verdicts for key in verdict.missing})
    result: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": "*",  # no ARN template (module docstring)
        "EvalDecision": decision,
        "MatchedStatements": _statements(Verdict(decision, deciding)),
        "MissingContextValues": missing,
    }
    details = [detail["PermissionsBoundaryDecisionDetail"] for _, _, detail in verdicts if detail]
    if details:
        allowed = all(detail["AllowedByPermissionsBoundary"] for detail in details)
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
    if listed:
        result["EvalDecisionDetails"] = {}
        result["ResourceSpecificResults"] = [
            {
                "EvalResourceName": resource,
                "EvalResourceDecision": verdict.decision,
                "MatchedStatements": _statements(verdict),
                "MissingContextValues": list(verdict.missing),
                **detail,
            }
            for resource, verdict, detail in verdicts
        ]
    return result


def simulate_principal_policy(self: IamResponse) -> ActionResult:
    for name in NOT_SIMULATED:
        if self._get_param(name):
            raise InvalidInput(f"{name} is not simulated by this emulator (mesh_rollout_local/emulator/iam.py)")
    actions: list[str] = self._get_param("ActionNames") or []
    for action in actions:
        if not re.fullmatch(r"[\w-]+:[\w*?]+", action):
            raise InvalidInput(f"Action {action} is invalid: an action is service:Operation, e.g. iam:CreateUser")
    resources: list[str] = self._get_param("ResourceArns") or []
    context = _context(self._get_param("ContextEntries") or [])
    policies, boundary = principal_policies(self.backend, self._get_param("PolicySourceArn"))
    results = []
    for action in actions:
        verdicts: list[tuple[str, Verdict, dict[str, Any]]] = []
        for resource in resources or ["*"]:
            request = Request(action, resource, context)
            identity = evaluate(policies, request)
            verdicts.append((resource, *_bounded(identity, evaluate(boundary, request) if boundary is not None else None)))
        results.append(_evaluation_result(action, verdicts, bool(resources)))
    marker = self._get_param("Marker") or "0"
    if not marker.isdigit() or int(marker) > len(results):
        raise InvalidInput(f"Marker {marker} is not one this operation returned")
    start, size = int(marker), int(self._get_param("MaxItems") or 100)
    page = results[start : start + size]
    truncated = start + size < len(results)
    answer: dict[str, Any] = {"EvaluationResults": page, "IsTruncated": truncated}
    if truncated:
        answer["Marker"] = str(start + size)
    return ActionResult(answer)


def install() -> None:
    IAMBackend._init_managed_policies = _with_the_ecs_lattice_policy(IAMBackend._init_managed_policies)  # type: ignore[method-assign]
    IamResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]
