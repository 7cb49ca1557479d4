"""What a handler's import may not do, as Lambda imports it (LAMBDA_TASK_ROOT set, tracing on): import the X-Ray SDK
(Powertools' Tracer is made at the first traced invocation), pydantic (handler events are shapes) or load a botocore
model or data file. And with tracing on, the first invocation still traces the handler and its AWS calls. How long an
import takes is `make bench`'s (bench/bench_cold_start.py); nothing here is timed. (The tracer facade's rule, in this
process: tests/unit/test_cold_start.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from subprocess import PIPE
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
HANDLERS = sorted(path.stem for path in (FUNCTIONS / "handlers").glob("*.py") if path.stem != "__init__")

IMPORT_A_HANDLER = """
import importlib, json, sys
import botocore.loaders

loaded = []
for name in ("load_service_model", "load_data", "load_data_with_path"):
    original = getattr(botocore.loaders.Loader, name)
    def spy(self, *args, _original=original, _name=name, **kwargs):
        loaded.append(f"{_name}{args}")
        return _original(self, *args, **kwargs)
    setattr(botocore.loaders.Loader, name, spy)

importlib.import_module(f"handlers.{sys.argv[1]}")
modules = [m for m in ("aws_xray_sdk", "pydantic", "aws_lambda_powertools.utilities.parser") if m in sys.modules]
print(json.dumps({"modules": modules, "botocore": loaded}))
"""

TRACED_INVOCATION = """
import json, sys
from types import SimpleNamespace

import boto3
from moto import mock_aws

import handlers.update_service as handler

imported_xray = "aws_xray_sdk" in sys.modules
sent = []
if sys.argv[1] == "on":
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter

    UDPEmitter.send_entity = lambda self, entity: sent.append(entity.to_dict())
context = SimpleNamespace(function_name="f", memory_limit_in_mb=256, aws_request_id="r",
                          invoked_function_arn="arn:aws:lambda:us-west-2:123456789012:function:f")
event = {"cluster": "missing", "service": "s", "taskDefinition": "t:1"}
with mock_aws():
    for _ in range(2):
        try:
            handler.lambda_handler(event, context)
        except Exception as exc:
            error = type(exc).__name__
print(json.dumps({"importedXray": imported_xray, "error": error, "xray": "aws_xray_sdk" in sys.modules, "sent": sent}))
"""


def lambda_environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("POWERTOOLS_", "AWS_XRAY", "_X_AMZN"))}
    env.update(
        LAMBDA_TASK_ROOT=str(FUNCTIONS),
        PYTHONPATH=str(FUNCTIONS),
        POWERTOOLS_SERVICE_NAME="mesh-rollout",
        AWS_REGION="us-west-2",
        AWS_DEFAULT_REGION="us-west-2",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        **extra,
    )
    return env


def start(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=PIPE, stderr=PIPE, text=True)


def result(process: subprocess.Popen[str]) -> Any:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[-1])


def run(code: str, *args: str, env: dict[str, str]) -> Any:
    return result(start(code, *args, env=env))


def test_no_handler_imports_the_xray_sdk_or_pydantic_or_loads_a_botocore_model() -> None:
    assert len(HANDLERS) >= 20
    started = {handler: start(IMPORT_A_HANDLER, handler, env=lambda_environment()) for handler in HANDLERS}
    found = {handler: result(process) for handler, process in started.items()}  # each in a fresh interpreter
    assert {handler: seen for handler, seen in found.items() if seen["modules"] or seen["botocore"]} == {}


def test_the_check_sees_a_model_loaded_at_import() -> None:
    """The check above can fail: a module that makes a client at import is caught."""
    code = IMPORT_A_HANDLER.replace("importlib.import_module(", "import boto3\nboto3.client('ecs')\nimportlib.import_module(")
    found = run(code, HANDLERS[0], env=lambda_environment())
    assert any(call.startswith("load_service_model('ecs'") for call in found["botocore"])


def test_with_tracing_on_the_first_invocation_traces_the_handler_and_its_aws_calls() -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    on = run(TRACED_INVOCATION, "on", env=lambda_environment(_X_AMZN_TRACE_ID=trace, AWS_XRAY_CONTEXT_MISSING="LOG_ERROR"))
    assert (on["importedXray"], on["error"], on["xray"]) == (False, "EcsServiceNotFound", True)
    handler = [entity for entity in on["sent"] if entity["name"] == "## lambda_handler"]
    assert [entity["annotations"]["ColdStart"] for entity in handler] == [True, False]
    assert {entity["annotations"]["Service"] for entity in handler} == {"mesh-rollout"}
    calls = [entity for entity in on["sent"] if entity.get("namespace") == "aws"]
    assert [(entity["name"], entity["aws"]["operation"]) for entity in calls] == [("ecs", "DescribeServices")] * 2

    off = run(TRACED_INVOCATION, "off", env=lambda_environment(POWERTOOLS_TRACE_DISABLED="true"))
    assert (off["importedXray"], off["error"], off["xray"], off["sent"]) == (False, "EcsServiceNotFound", False, [])
