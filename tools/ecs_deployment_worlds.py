"""Write the offline worlds of the ECS-native deployment (events/local/ecs-deployment-*-given.json).

A service `checkout` in cluster `apps`, deployed by ECS with LINEAR 20 % steps, behind an ALB listener rule or a
VPC Lattice listener rule whose two target groups (blue carries production, green is the alternate) ECS moves
between; a new revision `checkout:2` is registered and waits to be deployed. Each target group publishes 15 minutes
of per-minute request, 5xx and latency metrics (healthy, alike), so the judge compares full windows. Run it again
after changing it: `python tools/ecs_deployment_worlds.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "events" / "local"
MINUTES = 15
ROLE = "arn:aws:iam::123456789012:role/{}"


def call(service: str, operation: str, params: dict[str, Any], save: str | None = None) -> dict[str, Any]:
    return {"service": service, "operation": operation, "params": params, **({"saveAs": save} if save else {})}


def task_definition(image: str) -> dict[str, Any]:
    return call(
        "ecs",
        "register_task_definition",
        {
            "family": "checkout",
            "memory": "1024",
            "cpu": "512",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": image,
                    "essential": True,
                    "portMappings": [{"name": "http", "containerPort": 8080, "protocol": "tcp", "appProtocol": "http"}],
                }
            ],
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "taskRoleArn": ROLE.format("ecsTaskRole"),
            "executionRoleArn": ROLE.format("ecsTaskExecutionRole"),
        },
    )


def infrastructure_role(name: str) -> dict[str, Any]:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    return call("iam", "create_role", {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(trust)})


DEPLOYMENT_CONFIGURATION = {
    "strategy": "LINEAR",
    "linearConfiguration": {"stepPercent": 20.0, "stepBakeTimeInMinutes": 10},
    "bakeTimeInMinutes": 10,
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    "alarms": {"alarmNames": ["checkout-5xx"], "enable": True, "rollback": True},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def service(extra: dict[str, Any]) -> dict[str, Any]:
    return call(
        "ecs",
        "create_service",
        {
            "cluster": "apps",
            "serviceName": "checkout",
            "taskDefinition": "checkout:1",
            "desiredCount": 2,
            "launchType": "FARGATE",
            "deploymentController": {"type": "ECS"},
            "deploymentConfiguration": DEPLOYMENT_CONFIGURATION,
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["{{given:subnet.Subnet.SubnetId}}"],
                    "securityGroups": ["{{given:sg.GroupId}}"],
                    "assignPublicIp": "DISABLED",
                }
            },
            **extra,
        },
    )


def metrics(
    namespace: str, dimensions: list[dict[str, str]], names: tuple[str, str, str], latency: float, unit: str
) -> dict[str, Any]:
    requests, errors, time = names
    data = []
    for minute in range(MINUTES, 0, -1):
        at = f"{{{{given:now-{minute * 60}}}}}"
        count = 1000 + 10 * (minute % 4)
        data += [
            {"MetricName": requests, "Dimensions": dimensions, "Value": count, "Unit": "Count", "Timestamp": at},
            {"MetricName": errors, "Dimensions": dimensions, "Value": minute % 2, "Unit": "Count", "Timestamp": at},
            {
                "MetricName": time,
                "Dimensions": dimensions,
                "Value": latency + (minute % 3) * latency / 20,
                "Unit": unit,
                "Timestamp": at,
            },
        ]
    return call("cloudwatch", "put_metric_data", {"Namespace": namespace, "MetricData": data})


def alarm(namespace: str, metric: str, dimensions: list[dict[str, str]]) -> dict[str, Any]:
    return call(
        "cloudwatch",
        "put_metric_alarm",
        {
            "AlarmName": "checkout-5xx",
            "AlarmDescription": "5xx of checkout (ECS rolls the deployment back on it)",
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 50,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


def alb_world() -> list[dict[str, Any]]:
    def group(name: str) -> dict[str, Any]:
        return call(
            "elbv2",
            "create_target_group",
            {
                "Name": name,
                "Protocol": "HTTP",
                "Port": 8080,
                "VpcId": "{{given:vpc.Vpc.VpcId}}",
                "TargetType": "ip",
                "HealthCheckPath": "/ping",
            },
            name.replace("-", ""),
        )

    def dims(name: str) -> list[dict[str, str]]:
        return [
            {"Name": "TargetGroup", "Value": f"{{{{given:{name}.TargetGroups[0].TargetGroupArn|after:123456789012:}}}}"},
            {"Name": "LoadBalancer", "Value": "{{given:alb.LoadBalancers[0].LoadBalancerArn|after::loadbalancer/}}"},
        ]

    names = ("RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime")
    return [
        {"include": "base-given.json"},
        infrastructure_role("ecsInfrastructureRoleForLoadBalancers"),
        task_definition("example/checkout:1.0"),
        task_definition("example/checkout:2.0"),
        call(
            "ec2",
            "create_subnet",
            {"VpcId": "{{given:vpc.Vpc.VpcId}}", "CidrBlock": "10.0.2.0/24", "AvailabilityZone": "us-west-2b"},
            "subnet2",
        ),
        call(
            "elbv2",
            "create_load_balancer",
            {
                "Name": "apps",
                "Type": "application",
                "Scheme": "internal",
                "Subnets": ["{{given:subnet.Subnet.SubnetId}}", "{{given:subnet2.Subnet.SubnetId}}"],
                "SecurityGroups": ["{{given:sg.GroupId}}"],
            },
            "alb",
        ),
        group("checkout-blue"),
        group("checkout-green"),
        call(
            "elbv2",
            "create_listener",
            {
                "LoadBalancerArn": "{{given:alb.LoadBalancers[0].LoadBalancerArn}}",
                "Protocol": "HTTP",
                "Port": 80,
                "DefaultActions": [
                    {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}
                ],
            },
            "listener",
        ),
        call(
            "elbv2",
            "create_rule",
            {
                "ListenerArn": "{{given:listener.Listeners[0].ListenerArn}}",
                "Priority": 10,
                "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": ["checkout.apps.local"]}}],
                "Actions": [
                    {
                        "Type": "forward",
                        "ForwardConfig": {
                            "TargetGroups": [
                                {"TargetGroupArn": "{{given:checkoutblue.TargetGroups[0].TargetGroupArn}}", "Weight": 100},
                                {"TargetGroupArn": "{{given:checkoutgreen.TargetGroups[0].TargetGroupArn}}", "Weight": 0},
                            ]
                        },
                    }
                ],
            },
            "rule",
        ),
        alarm("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims("checkoutblue")),
        service(
            {
                "loadBalancers": [
                    {
                        "targetGroupArn": "{{given:checkoutblue.TargetGroups[0].TargetGroupArn}}",
                        "containerName": "app",
                        "containerPort": 8080,
                        "advancedConfiguration": {
                            "alternateTargetGroupArn": "{{given:checkoutgreen.TargetGroups[0].TargetGroupArn}}",
                            "productionListenerRule": "{{given:rule.Rules[0].RuleArn}}",
                            "roleArn": ROLE.format("ecsInfrastructureRoleForLoadBalancers"),
                        },
                    }
                ]
            }
        ),
        metrics("AWS/ApplicationELB", dims("checkoutblue"), names, 0.040, "Seconds"),
        metrics("AWS/ApplicationELB", dims("checkoutgreen"), names, 0.041, "Seconds"),
    ]


def lattice_world() -> list[dict[str, Any]]:
    def group(name: str) -> dict[str, Any]:
        return call(
            "vpc-lattice",
            "create_target_group",
            {
                "name": name,
                "type": "IP",
                "config": {
                    "port": 8080,
                    "protocol": "HTTP",
                    "vpcIdentifier": "{{given:vpc.Vpc.VpcId}}",
                    "healthCheck": {"enabled": True, "protocol": "HTTP", "path": "/ping"},
                },
            },
            name.replace("-", ""),
        )

    def dims(name: str) -> list[dict[str, str]]:
        return [{"Name": "TargetGroup", "Value": f"{{{{given:{name}.id}}}}"}]

    names = ("TotalRequestCount", "HTTPCode_5XX_Count", "RequestTime")
    return [
        {"include": "base-given.json"},
        infrastructure_role("ecsInfrastructureRoleForVpcLattice"),
        task_definition("example/checkout:1.0"),
        task_definition("example/checkout:2.0"),
        call("vpc-lattice", "create_service_network", {"name": "apps", "authType": "NONE"}, "network"),
        call(
            "vpc-lattice",
            "create_service_network_vpc_association",
            {
                "serviceNetworkIdentifier": "{{given:network.id}}",
                "vpcIdentifier": "{{given:vpc.Vpc.VpcId}}",
                "securityGroupIds": ["{{given:sg.GroupId}}"],
            },
        ),
        call(
            "vpc-lattice",
            "create_service",
            {"name": "checkout", "authType": "NONE", "customDomainName": "checkout.apps.local"},
            "checkout",
        ),
        call(
            "vpc-lattice",
            "create_service_network_service_association",
            {"serviceNetworkIdentifier": "{{given:network.id}}", "serviceIdentifier": "{{given:checkout.id}}"},
        ),
        group("checkout-blue"),
        group("checkout-green"),
        call(
            "vpc-lattice",
            "create_listener",
            {
                "serviceIdentifier": "{{given:checkout.id}}",
                "name": "http-80",
                "protocol": "HTTP",
                "port": 80,
                "defaultAction": {"fixedResponse": {"statusCode": 404}},
            },
            "listener",
        ),
        call(
            "vpc-lattice",
            "create_rule",
            {
                "serviceIdentifier": "{{given:checkout.id}}",
                "listenerIdentifier": "{{given:listener.id}}",
                "name": "checkout",
                "priority": 10,
                "match": {"httpMatch": {"pathMatch": {"match": {"prefix": "/"}}}},
                "action": {
                    "forward": {
                        "targetGroups": [
                            {"targetGroupIdentifier": "{{given:checkoutblue.id}}", "weight": 100},
                            {"targetGroupIdentifier": "{{given:checkoutgreen.id}}", "weight": 0},
                        ]
                    }
                },
            },
            "rule",
        ),
        alarm("AWS/VpcLattice", "HTTPCode_5XX_Count", dims("checkoutblue")),
        service(
            {
                "vpcLatticeConfigurations": [
                    {
                        "roleArn": ROLE.format("ecsInfrastructureRoleForVpcLattice"),
                        "targetGroupArn": "{{given:checkoutblue.arn}}",
                        "portName": "http",
                        "advancedConfiguration": {
                            "alternateTargetGroupArn": "{{given:checkoutgreen.arn}}",
                            "productionListenerRule": "{{given:rule.arn}}",
                        },
                    }
                ]
            }
        ),
        metrics("AWS/VpcLattice", dims("checkoutblue"), names, 40.0, "Milliseconds"),
        metrics("AWS/VpcLattice", dims("checkoutgreen"), names, 41.0, "Milliseconds"),
    ]


def main() -> None:
    for name, world in (("alb", alb_world()), ("lattice", lattice_world())):
        path = OUT / f"ecs-deployment-{name}-given.json"
        path.write_text(json.dumps(world, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
