"""What IAM authorizes for one AWS call: its action(s), the ARN of each resource it acts on and the condition keys
it carries, from the call's parameters, after the Service Authorization Reference ("Actions, resources, and
condition keys for ..." of each service).

Where the reference lists no resource type for an action, or where this module is not sure it does, the resource
is "*": only a statement granting "*" allows it, which is never more permissive than AWS. An id that AWS picks when
it creates a resource is "*" in the ARN (only a pattern that covers every id allows it). A call this module does not
know raises `UnknownCall`: a handler's new call needs its resources stated here before tests/offline/test_iam.py passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mesh_rollout_local.iam_policy import Request
from mesh_rollout_local.template import Template

NEW = "*"  # the id of a resource the call creates
# the condition keys `requests` supplies: a statement may use only these (tests/offline/test_iam.py checks the template)
CONDITION_KEYS = {"iam:PassedToService", "ecs:CreateAction", "ecs:cluster", "ec2:CreateAction"}
# the IAM action prefix of a botocore service name, where they differ
IAM_PREFIX = {"stepfunctions": "states", "elbv2": "elasticloadbalancing"}


class UnknownCall(KeyError):
    """A call whose resources this module does not derive."""


@dataclass(frozen=True)
class Stack:
    """Where the calls run: partition, Region and account, and the KMS key ARN of each encrypted SNS topic."""

    region: str
    account: str
    partition: str = "aws"
    topic_keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def deployed(cls, template: Template, stack: dict[str, Any]) -> Stack:
        """The stack as OfflineAccount.deployed resolved it (topic ARNs, key ids)."""
        region, account, partition = stack["AWS::Region"], stack["AWS::AccountId"], stack["AWS::Partition"]
        keys = {}
        for logical_id, props in template.resources_of("AWS::SNS::Topic").items():
            if "KmsMasterKeyId" in props:
                key = str(template.resolve(props["KmsMasterKeyId"], stack))
                arn = key if key.startswith("arn:") else f"arn:{partition}:kms:{region}:{account}:key/{key}"
                keys[stack[logical_id]] = arn
        return cls(region, account, partition, keys)

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"


def requests(service: str, operation: str, params: dict[str, Any], stack: Stack) -> list[Request]:
    """Every authorization the call needs (its own action, and those AWS checks with it: iam:PassRole for a role
    it hands to a service, ecs:TagResource for tags it creates, kms on an encrypted topic's key)."""
    if (service, operation) in NEEDS_NO_PERMISSION:
        return []
    derive = _DERIVE.get(service, {}).get(operation)
    if derive is None:
        raise UnknownCall(f"{service}.{operation}: its resources are not derived in iam_requests.py")
    call = f"{service}.{operation}"
    action = f"{IAM_PREFIX.get(service, service)}:{operation}"
    found = []
    for item in derive(params, stack):
        found.append(
            Request(action, item, call=call)
            if isinstance(item, str)
            else Request(item.action or action, item.resource, item.context, call)
        )
    return found


NEEDS_NO_PERMISSION = {("sts", "GetCallerIdentity")}


def _pass_role(role: str, to: str) -> Request:
    return Request("iam:PassRole", role, {"iam:PassedToService": to})


def _anything(params: dict[str, Any], stack: Stack) -> list[str]:
    return ["*"]


# --- App Mesh: mesh/<mesh>[/virtualNode|virtualService|virtualRouter/<name>[/route/<route>]] ----------------------


def _appmesh(kind: str | None) -> Callable[[dict[str, Any], Stack], list[str | Request]]:
    def derive(params: dict[str, Any], stack: Stack) -> list[str | Request]:
        resource = f"mesh/{params['meshName']}"
        if kind == "route":
            resource += f"/virtualRouter/{params['virtualRouterName']}/route/{params['routeName']}"
        elif kind:
            resource += f"/{kind}/{params[kind + 'Name']}"
        arn = stack.arn("appmesh", resource)
        tagged: list[str | Request] = [Request("appmesh:TagResource", arn)] if params.get("tags") else []
        return [arn, *tagged]

    return derive


_APPMESH: dict[str, Callable[[dict[str, Any], Stack], list[Any]]] = {
    f"{verb}{kind[0].upper()}{kind[1:]}": _appmesh(kind)
    for kind in ("virtualNode", "virtualService", "virtualRouter", "route")
    for verb in ("Describe", "Create", "Update", "Delete")
}
_APPMESH |= {op: _appmesh(None) for op in ("DescribeMesh", "CreateMesh", "UpdateMesh", "DeleteMesh")}
_APPMESH |= {op: _appmesh(None) for op in ("ListVirtualNodes", "ListVirtualRouters", "ListVirtualServices")}
_APPMESH["ListRoutes"] = lambda p, s: [s.arn("appmesh", f"mesh/{p['meshName']}/virtualRouter/{p['virtualRouterName']}")]
_APPMESH["TagResource"] = lambda p, s: [p["resourceArn"]]

# --- ECS: service/<cluster>/<service>, task-definition/<family>:<revision>, cluster/<cluster> -------------------


def _cluster(params: dict[str, Any], stack: Stack) -> str:
    cluster = str(params.get("cluster") or "default")
    return cluster if cluster.startswith("arn:") else stack.arn("ecs", f"cluster/{cluster}")


def _ecs_service(params: dict[str, Any], stack: Stack, service: str) -> str:
    if service.startswith("arn:"):
        return service
    return stack.arn("ecs", f"service/{_cluster(params, stack).rsplit('/', 1)[1]}/{service}")


def _register_task_definition(params: dict[str, Any], stack: Stack) -> list[str | Request]:
    """RegisterTaskDefinition has no resource type; it passes the task and execution roles to ECS tasks, and tags
    the new revision (ecs:TagResource with ecs:CreateAction) when given tags."""
    found: list[str | Request] = ["*"]
    found += [_pass_role(params[k], "ecs-tasks.amazonaws.com") for k in ("taskRoleArn", "executionRoleArn") if params.get(k)]
    if params.get("tags"):
        revision = stack.arn("ecs", f"task-definition/{params['family']}:{NEW}")
        found.append(Request("ecs:TagResource", revision, {"ecs:CreateAction": "RegisterTaskDefinition"}))
    return found


def _update_service(params: dict[str, Any], stack: Stack) -> list[str | Request]:
    """The service; the infrastructure role of each VPC Lattice configuration, of each load balancer's blue/green
    advancedConfiguration and of each lifecycle hook in deploymentConfiguration is passed to ECS (UpdateService's
    row in the Service Authorization Reference: iam:PassRole with iam:PassedToService ecs.amazonaws.com)."""
    lattice = params.get("vpcLatticeConfigurations") or []
    advanced = [b["advancedConfiguration"] for b in params.get("loadBalancers") or [] if b.get("advancedConfiguration")]
    hooks = (params.get("deploymentConfiguration") or {}).get("lifecycleHooks") or []
    roles = list(dict.fromkeys(c["roleArn"] for c in [*lattice, *advanced, *hooks] if c.get("roleArn")))
    return [_ecs_service(params, stack, params["service"]), *(_pass_role(role, "ecs.amazonaws.com") for role in roles)]


# Service deployments (Service Authorization Reference, "Actions, resources, and condition keys for Amazon Elastic
# Container Service", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html,
# and the ECS guide's least-privilege example,
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment-permissions.html):
# ListServiceDeployments acts on the service; DescribeServiceDeployments, ContinueServiceDeployment and
# StopServiceDeployment on the service deployment (service-deployment/<cluster>/<service>/<id>, the ARN the calls
# name); DescribeServiceRevisions on the service revision (service-revision/<cluster>/<service>/<id>).
_ECS_SERVICE_DEPLOYMENTS: dict[str, Callable[[dict[str, Any], Stack], list[Any]]] = {
    "ListServiceDeployments": lambda p, s: [_ecs_service(p, s, p["service"])],
    "DescribeServiceDeployments": lambda p, s: list(p["serviceDeploymentArns"]),
    "DescribeServiceRevisions": lambda p, s: list(p["serviceRevisionArns"]),
    "ContinueServiceDeployment": lambda p, s: [p["serviceDeploymentArn"]],
    "StopServiceDeployment": lambda p, s: [p["serviceDeploymentArn"]],
}


_ECS: dict[str, Callable[[dict[str, Any], Stack], list[Any]]] = {
    "DescribeServices": lambda p, s: [_ecs_service(p, s, name) for name in p["services"]],
    "UpdateService": _update_service,
    "DescribeTaskDefinition": _anything,
    "RegisterTaskDefinition": _register_task_definition,
    "ListClusters": _anything,
    "ListServices": lambda p, s: [Request("", "*", {"ecs:cluster": _cluster(p, s)})],
    "TagResource": lambda p, s: [p["resourceArn"]],
    **_ECS_SERVICE_DEPLOYMENTS,
}

# --- Elastic Load Balancing: the ARNs the calls name; Describe* has no resource type ----------------------------

_ELBV2: dict[str, Callable[[dict[str, Any], Stack], list[Any]]] = {
    "ModifyRule": lambda p, s: [p["RuleArn"]],
    "ModifyListener": lambda p, s: [p["ListenerArn"]],
    "DeleteTargetGroup": lambda p, s: [p["TargetGroupArn"]],
    **{op: _anything for op in ("DescribeListeners", "DescribeRules", "DescribeLoadBalancers", "DescribeTargetGroups")},
}

# --- VPC Lattice: service/<id>[/listener/<id>[/rule/<id>]], targetgroup/<id>, servicenetwork/<id> ... ------------


def _lattice_id(identifier: str) -> str:
    return identifier.rsplit("/", 1)[1] if identifier.startswith("arn:") else identifier


def _lattice(path: Callable[[dict[str, Any]], str], tags: bool = False) -> Callable[[dict[str, Any], Stack], list[Any]]:
    def derive(params: dict[str, Any], stack: Stack) -> list[str | Request]:
        arn = stack.arn("vpc-lattice", path(params))
        return [arn, Request("vpc-lattice:TagResource", arn)] if tags and params.get("tags") else [arn]

    return derive


def _svc(p: dict[str, Any]) -> str:
    return f"service/{_lattice_id(p['serviceIdentifier'])}"


def _listener(p: dict[str, Any]) -> str:
    return f"{_svc(p)}/listener/{_lattice_id(p['listenerIdentifier'])}"


def _association(kind: str) -> Callable[[dict[str, Any], Stack], list[Any]]:
    """A new association: its own ARN (created) and the service network's (and service's) it joins."""

    def derive(params: dict[str, Any], stack: Stack) -> list[str | Request]:
        found: list[str | Request] = [stack.arn("vpc-lattice", f"{kind}/{NEW}")]
        found.append(stack.arn("vpc-lattice", f"servicenetwork/{_lattice_id(params['serviceNetworkIdentifier'])}"))
        if "serviceIdentifier" in params:
            found.append(stack.arn("vpc-lattice", _svc(params)))
        if "vpcIdentifier" in params:  # its dependent actions on the VPC side
            found += [Request("ec2:DescribeVpcs", "*"), Request("ec2:DescribeSecurityGroups", "*")]
        if params.get("tags"):
            found.append(Request("vpc-lattice:TagResource", stack.arn("vpc-lattice", f"{kind}/{NEW}")))
        return found

    return derive


def _auth_target(p: dict[str, Any]) -> str:
    """The service network (sn-...) or service (svc-...) an auth policy belongs to."""
    identifier = _lattice_id(p["resourceIdentifier"])
    return f"servicenetwork/{identifier}" if identifier.startswith("sn-") else f"service/{identifier}"


_LATTICE: dict[str, Callable[[dict[str, Any], Stack], list[Any]]] = {
    "GetService": _lattice(_svc),
    "GetServiceNetwork": _lattice(lambda p: f"servicenetwork/{_lattice_id(p['serviceNetworkIdentifier'])}"),
    "GetAuthPolicy": _lattice(_auth_target),
    "PutAuthPolicy": _lattice(_auth_target),
    "CreateService": _lattice(lambda p: f"service/{NEW}", tags=True),
    "GetListener": _lattice(_listener),
    "UpdateListener": _lattice(_listener),
    "CreateListener": _lattice(lambda p: f"{_svc(p)}/listener/{NEW}", tags=True),
    "GetRule": _lattice(lambda p: f"{_listener(p)}/rule/{_lattice_id(p['ruleIdentifier'])}"),
    "UpdateRule": _lattice(lambda p: f"{_listener(p)}/rule/{_lattice_id(p['ruleIdentifier'])}"),
    "CreateRule": _lattice(lambda p: f"{_listener(p)}/rule/{NEW}", tags=True),
    "GetTargetGroup": _lattice(lambda p: f"targetgroup/{_lattice_id(p['targetGroupIdentifier'])}"),
    "UpdateTargetGroup": _lattice(lambda p: f"targetgroup/{_lattice_id(p['targetGroupIdentifier'])}"),
    "DeleteTargetGroup": _lattice(lambda p: f"targetgroup/{_lattice_id(p['targetGroupIdentifier'])}"),
    "CreateTargetGroup": _lattice(lambda p: f"targetgroup/{NEW}", tags=True),
    "CreateServiceNetwork": _lattice(lambda p: f"servicenetwork/{NEW}", tags=True),
    "CreateServiceNetworkVpcAssociation": _association("servicenetworkvpcassociation"),
    "CreateServiceNetworkServiceAssociation": _association("servicenetworkserviceassociation"),
    **{
        op: _anything  # list actions: "*" (narrower only where the reference says so; "*" is never more permissive)
        for op in (
            "ListServices",
            "ListListeners",
            "ListRules",
            "ListTargetGroups",
            "ListServiceNetworks",
            "ListServiceNetworkVpcAssociations",
            "ListServiceNetworkServiceAssociations",
        )
    },
}

# --- EC2 and IAM: security-group/<id>, security-group-rule/<id>; role/<name>, policy/<name> -------------------------


def _ingress(params: dict[str, Any], stack: Stack) -> list[Any]:
    """The group and its new rules; tags on the new rules need ec2:CreateTags, with ec2:CreateAction."""
    rule = stack.arn("ec2", f"security-group-rule/{NEW}")
    tagged = [Request("ec2:CreateTags", rule, {"ec2:CreateAction": "AuthorizeSecurityGroupIngress"})]
    return [stack.arn("ec2", f"security-group/{params['GroupId']}"), rule, *(tagged if params.get("TagSpecifications") else [])]


def _role(params: dict[str, Any], stack: Stack) -> list[Any]:
    return [f"arn:{stack.partition}:iam::{stack.account}:role/{params['RoleName']}"]


_EC2: dict[str, Callable[[dict[str, Any], Stack], list[Any]]] = {
    "DescribeManagedPrefixLists": _anything,
    "DescribeSecurityGroupRules": _anything,
    "AuthorizeSecurityGroupIngress": _ingress,
}
_IAM: dict[str, Callable[[dict[str, Any], Stack], list[Any]]] = {
    **{op: _role for op in ("GetRole", "ListAttachedRolePolicies", "ListRolePolicies", "GetRolePolicy")},
    **{op: (lambda p, s: [p["PolicyArn"]]) for op in ("GetPolicy", "GetPolicyVersion")},
    # the principal whose policies are simulated: resource types group, role, user ("Actions, resources, and condition
    # keys for AWS Identity and Access Management": https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html)
    "SimulatePrincipalPolicy": lambda p, s: [p["PolicySourceArn"]],
}

# --- Route 53, DynamoDB, SNS, CloudWatch, Step Functions ----------------------------------------------------------


def _hosted_zone(params: dict[str, Any], stack: Stack) -> list[Any]:
    zone = str(params.get("HostedZoneId") or params["Id"]).rsplit("/", 1)[-1]
    return [stack.arn("route53", f"hostedzone/{zone}", region=False, account=False)]


def _table(name: str, stack: Stack) -> str:
    return name if name.startswith("arn:") else stack.arn("dynamodb", f"table/{name}")


_TRANSACT_ACTIONS = {"Put": "PutItem", "Delete": "DeleteItem", "Update": "UpdateItem", "ConditionCheck": "ConditionCheckItem"}


def _transact_write(params: dict[str, Any], stack: Stack) -> list[Any]:
    """IAM authorizes a transaction by its items' own actions on their tables."""
    return [
        Request(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table(item["TableName"], stack))
        for entry in params["TransactItems"]
        for kind, item in entry.items()
    ]


def _publish(params: dict[str, Any], stack: Stack) -> list[Any]:
    """The topic; publishing to a topic encrypted with a customer managed key also needs kms:GenerateDataKey and
    kms:Decrypt on that key (the Amazon SNS developer guide's key management page)."""
    topic = params["TopicArn"]
    key = stack.topic_keys.get(topic)
    return [topic, *([Request("kms:GenerateDataKey", key), Request("kms:Decrypt", key)] if key else [])]


def _parameter(params: dict[str, Any], stack: Stack) -> list[Any]:
    name = str(params["Name"])
    return [name if name.startswith("arn:") else stack.arn("ssm", f"parameter/{name.lstrip('/')}")]


_DERIVE: dict[str, dict[str, Callable[[dict[str, Any], Stack], list[Any]]]] = {
    "appmesh": _APPMESH,
    "ecs": _ECS,
    "elbv2": _ELBV2,
    "vpc-lattice": _LATTICE,
    "ec2": _EC2,
    "iam": _IAM,
    "route53": {
        "ListHostedZonesByName": _anything,
        "GetHostedZone": _hosted_zone,
        "ListResourceRecordSets": _hosted_zone,
        "ChangeResourceRecordSets": _hosted_zone,
    },
    "dynamodb": {
        **{op: (lambda p, s: [_table(p["TableName"], s)]) for op in ("GetItem", "PutItem", "DeleteItem", "UpdateItem")},
        "TransactWriteItems": _transact_write,
    },
    # ListSubscriptionsByTopic acts on the topic (resource type topic; "Actions, resources, and condition keys for
    # Amazon SNS": https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html)
    "sns": {"Publish": _publish, "ListSubscriptionsByTopic": lambda p, s: [p["TopicArn"]]},
    # DescribeAlarms of composite alarms needs "*" (CloudWatch API reference); GetMetricData and ListMetrics have
    # no resource type
    "cloudwatch": {op: _anything for op in ("DescribeAlarms", "GetMetricData", "ListMetrics")},
    # parameter/<name without its leading slash> (Service Authorization Reference, "Actions, resources, and condition
    # keys for AWS Systems Manager": https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html)
    "ssm": {"GetParameter": _parameter},
    "stepfunctions": {
        "GetExecutionHistory": lambda p, s: [p["executionArn"]],
        "DescribeExecution": lambda p, s: [p["executionArn"]],
        "StartExecution": lambda p, s: [p["stateMachineArn"]],
    },
}
