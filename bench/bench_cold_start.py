"""Benchmark of cold starts: each handler's import against `import boto3; from aws_lambda_powertools import Logger,
Metrics`, the floor any of our functions pays, measured side by side in one run; then what is left for the first
invocation. Run with `make bench` (or `python bench/bench_cold_start.py [pairs]`); numbers are printed, never asserted,
and the exit code is 0 whatever they are.

Every handler in functions/handlers is measured (the directory is listed, so a new one is too): for each, pairs of
fresh interpreters, one importing the baseline and one the handler, alternating which goes first, one after the other
(never in parallel, which would measure the neighbours). Only the import is timed, inside the process
(time.perf_counter), not the interpreter's start-up. The environment is Lambda's as far as an import can tell:
LAMBDA_TASK_ROOT set (Powertools' Tracer then traces), the template's Globals, PYTHONPATH=functions, and warm bytecode
(one unmeasured import of each first, with compiled files kept in a temporary PYTHONPYCACHEPREFIX, so the working
tree gets no __pycache__). Reported per handler: median baseline and handler milliseconds and the median of the
per-pair ratios, PASS when that is at most 1.2 (issue 13); then the worst ratio.

Last, the first and second invocation of two handlers in fresh interpreters, tracing off and on: the first pays the
Tracer when tracing is on (X-Ray SDK import, botocore patched), and validate_rollout's first also pays its planner
(pydantic and the input models), which the planning handlers import on first use.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
BASELINE = "import boto3; from aws_lambda_powertools import Logger, Metrics"
LIMIT = 1.2
PAIRS = 7

# template.yaml Globals.Function.Environment (ENVOY_IMAGE is the EnvoyImage parameter), plus what Lambda itself sets that an
# import can see; tracing stays on, as with `Tracing: Active`.
LAMBDA_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "mesh-rollout",
    "POWERTOOLS_METRICS_NAMESPACE": "MeshRollout",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "ENVOY_IMAGE": "",  # the parameter's default
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
}

TIMED = "import time\nstarted = time.perf_counter()\n{statement}\nprint('ms', (time.perf_counter() - started) * 1000)\n"

# Each invocation fails before any AWS call: update_service on its event, validate_rollout on the rollout in it (after
# making its clients and importing its planner).
FIRST_CALLS = {"update_service": {}, "validate_rollout": {"rollout": {}}}
FIRST_CALL = """
import json, sys, time
from types import SimpleNamespace
import importlib
handler = importlib.import_module(f"handlers.{sys.argv[1]}")
event = json.loads(sys.argv[2])
context = SimpleNamespace(function_name="bench", memory_limit_in_mb=256, aws_request_id="bench",
                          invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench")
calls = []
for _ in range(2):
    started = time.perf_counter()
    try:
        handler.lambda_handler(event, context)
    except Exception:
        pass
    calls.append((time.perf_counter() - started) * 1000)
print("ms", *calls)
"""


def handlers() -> list[str]:
    return sorted(path.stem for path in (FUNCTIONS / "handlers").glob("*.py") if path.stem != "__init__")


def environment(pycache: str, tracing: bool = True) -> dict[str, str]:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update(LAMBDA_ENVIRONMENT, LAMBDA_TASK_ROOT=str(FUNCTIONS), PYTHONPATH=str(FUNCTIONS), PYTHONPYCACHEPREFIX=pycache)
    if tracing:  # as Lambda with active tracing: a sampled trace header and a daemon address (nothing listens)
        env.update(_X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        env.update(AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000", AWS_XRAY_CONTEXT_MISSING="LOG_ERROR")
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def run(code: str, *args: str, env: dict[str, str]) -> list[float]:
    command = [sys.executable, "-c", code, *args]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{code!r} failed:\n{result.stderr}")
    last = [line for line in result.stdout.splitlines() if line.startswith("ms ")][-1]  # handlers log to stdout too
    return [float(value) for value in last.split()[1:]]


def import_ms(statement: str, env: dict[str, str]) -> float:
    return run(TIMED.format(statement=statement), env=env)[-1]


def cold_starts(pairs: int, env: dict[str, str]) -> None:
    print(f"Cold start: import time of each handler against `{BASELINE}` (ms, median of {pairs} pairs, side by side)")
    print(f"{'handler':36} {'baseline':>9} {'handler':>9} {'ratio':>6}")
    worst = ("", 0.0)
    import_ms(BASELINE, env)  # warm bytecode, unmeasured
    for name in handlers():
        statement = f"import handlers.{name}"
        import_ms(statement, env)
        base: list[float] = []
        own: list[float] = []
        for pair in range(pairs):
            if pair % 2:
                own.append(import_ms(statement, env))
                base.append(import_ms(BASELINE, env))
            else:
                base.append(import_ms(BASELINE, env))
                own.append(import_ms(statement, env))
        ratio = statistics.median(h / b for h, b in zip(own, base, strict=True))
        verdict = "PASS" if ratio <= LIMIT else "OVER"
        print(f"{name:36} {statistics.median(base):9.1f} {statistics.median(own):9.1f} {ratio:6.2f} {verdict}")
        worst = max(worst, (name, ratio), key=lambda item: item[1])
    print(f"worst ratio: {worst[1]:.2f} ({worst[0]}), limit {LIMIT}")


def first_invocation(runs: int, pycache: str) -> None:
    print(f"\nFirst and second invocation (ms, median of {runs} fresh interpreters), tracing off and on:")
    print(f"{'handler':36} {'off: 1st':>9} {'2nd':>6} {'on: 1st':>9} {'2nd':>6}")
    environments = {False: environment(pycache, tracing=False), True: environment(pycache, tracing=True)}
    for name, event in FIRST_CALLS.items():
        code = [FIRST_CALL, name, json.dumps(event)]
        timings: dict[bool, list[list[float]]] = {False: [], True: []}
        for run_number in range(runs + 1):
            for tracing in (run_number % 2 == 0, run_number % 2 != 0):
                calls = run(*code, env=environments[tracing])
                if run_number:  # the first round warms bytecode
                    timings[tracing].append(calls)
        cells = [
            f"{statistics.median(t[0] for t in timings[tracing]):9.1f} {statistics.median(t[1] for t in timings[tracing]):6.2f}"
            for tracing in (False, True)
        ]
        print(f"{name:36} {cells[0]} {cells[1]}")


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else PAIRS
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        cold_starts(max(pairs, PAIRS), environment(pycache))
        first_invocation(pairs, pycache)


if __name__ == "__main__":
    main()
