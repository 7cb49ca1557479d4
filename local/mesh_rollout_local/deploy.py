"""Deploy template.yaml into the emulated account as CloudFormation would: its data resources, its functions
(answered in-process by lambda_standin.py) and its state machines with their DefinitionSubstitutions."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import TYPE_CHECKING, Any

from moto.iam.models import iam_backends

if TYPE_CHECKING:
    from mesh_rollout_local.runner import OfflineAccount

ACCOUNT_ID = "123456789012"


def substitute(definition: str, substitutions: dict[str, str]) -> str:
    """Apply DefinitionSubstitutions the way CloudFormation does: ${Name} -> value."""
    return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: substitutions[m.group(1)], definition)


def deploy(account: OfflineAccount) -> None:
    """The template's resources in `account`; account.deployed holds what its !Ref, !GetAtt and !Sub resolve to."""
    template, region = account.template, account.region
    iam = account.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role_arn = iam.create_role(RoleName="mesh-rollout-local", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    context = {
        **template.parameter_defaults(),
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "mesh-rollout-local",
    }
    account.deployed = context
    _deploy_data_resources(account, context)
    # Functions and state machines may refer to each other (a handler's environment names a state
    # machine): their ARNs are known before anything is created, as CloudFormation would resolve them.
    for logical_id, fn in template.functions.items():
        context[logical_id] = logical_id
        context[f"{logical_id}.Arn"] = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{logical_id}"
        if fn.generated_role:  # SAM's `<Function>Role`, named by its logical id offline as the function is
            context[fn.generated_role] = fn.generated_role
            context[f"{fn.generated_role}.Arn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/{fn.generated_role}"
    for logical_id in template.state_machines:
        context[logical_id] = f"arn:aws:states:{region}:{ACCOUNT_ID}:stateMachine:{logical_id}"
        context[f"{logical_id}.Arn"] = context[logical_id]
        context[f"{logical_id}.Name"] = logical_id
    _deploy_function_roles(account, context, json.dumps(trust))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("placeholder.py", "# code runs in-process offline\n")
    lam = account.client("lambda")
    for logical_id, fn in template.functions.items():
        env = {k: str(v) for k, v in template.resolve(fn.environment, context).items()}
        arn = lam.create_function(
            FunctionName=logical_id,
            Runtime="python3.13",
            Role=context[f"{fn.generated_role}.Arn"] if fn.generated_role else role_arn,
            Handler=fn.handler,
            Code={"ZipFile": code.getvalue()},
            Environment={"Variables": env},
        )["FunctionArn"]
        assert arn == context[f"{logical_id}.Arn"], arn
        account.function_arns[logical_id] = arn
        account.lambdas.add(logical_id, arn, fn.handler, env)
    sfn = account.client("stepfunctions")
    for logical_id, machine in template.state_machines.items():
        subs = {k: str(template.resolve(v, context)) for k, v in machine.substitutions.items()}
        definition = substitute(machine.definition_uri.read_text(), subs)
        arn = sfn.create_state_machine(name=logical_id, definition=definition, roleArn=role_arn)["stateMachineArn"]
        assert arn == context[logical_id], arn
        account.state_machine_arns[logical_id] = arn


def _deploy_data_resources(account: OfflineAccount, context: dict[str, Any]) -> None:
    """The template's KMS keys, DynamoDB tables and SNS topics, so !Ref and !GetAtt to them resolve."""
    dynamodb, sns, kms = account.client("dynamodb"), account.client("sns"), account.client("kms")
    for logical_id, props in account.template.resources_of("AWS::KMS::Key").items():
        key = kms.create_key(Description=props.get("Description", logical_id))["KeyMetadata"]
        context[logical_id] = key["KeyId"]
        context[f"{logical_id}.Arn"] = key["Arn"]
    for logical_id, props in account.template.resources_of("AWS::DynamoDB::Table").items():
        table = dynamodb.create_table(
            TableName=f"mesh-rollout-local-{logical_id}",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
        )["TableDescription"]
        context[logical_id] = table["TableName"]
        context[f"{logical_id}.Arn"] = table["TableArn"]
    for logical_id in account.template.resources_of("AWS::SNS::Topic"):
        arn = sns.create_topic(Name=f"mesh-rollout-local-{logical_id}")["TopicArn"]
        context[logical_id] = arn
        context[f"{logical_id}.TopicArn"] = arn
        account.topic_arns[logical_id] = arn


def _deploy_function_roles(account: OfflineAccount, context: dict[str, Any], trust: str) -> None:
    """Each function's execution role as SAM generates it (`<Function>Role`, trusting lambda.amazonaws.com), with
    one inline policy per Statement document of its Policies (SAM names them `<Function>RolePolicy<n>`), resolved
    against the deployed stack, so that iam:SimulatePrincipalPolicy on the role (emulator/iam.py) answers as on AWS.
    Roles are not enforced offline (handlers' calls are checked by tests/offline/test_iam.py). Not carried: the AWS
    managed policy AWSLambdaBasicExecutionRole SAM also attaches (CloudWatch Logs only; moto loads no AWS managed
    policies) and a function's SAM policy templates or managed policies (the template uses none; skipped here, so
    that a template using them still builds; iam_policy.py's role_statements refuses them). Made on moto's IAM
    backend directly, in about 5 ms for the template's 30 roles: through a client (CreateRole and PutRolePolicy
    each) they took about 0.7 s, more than the rest of the build."""
    backend = iam_backends[ACCOUNT_ID]["aws"]
    template = account.template
    for logical_id, fn in template.functions.items():
        if not fn.generated_role:
            continue
        role = backend.create_role(fn.generated_role, trust, "/", None, f"{logical_id}'s execution role", [], None)
        if role.arn != context[f"{fn.generated_role}.Arn"]:
            raise RuntimeError(
                f"{logical_id}: its role was made as {role.arn}, but the stack's !GetAtt {fn.generated_role}.Arn is"
                f" {context[f'{fn.generated_role}.Arn']}: the two ways of naming the role disagree"
            )
        policies = template.resources[logical_id]["Properties"].get("Policies", [])
        # SAM takes one policy or a list; it numbers the inline ones by their place in the list
        for index, policy in enumerate(policies if isinstance(policies, list) else [policies]):
            if not (isinstance(policy, dict) and "Statement" in policy):
                # a managed policy's name or ARN, or a SAM policy template ({"SQSPollerPolicy": {...}}): not carried
                # (see above), so the role answers iam:SimulatePrincipalPolicy as if the function lacked it
                continue
            document = {"Version": "2012-10-17", **template.resolve(policy, context)}
            role.put_policy(f"{fn.generated_role}Policy{index}", json.dumps(document))
