"""The tracer facade decides whether to trace as Powertools does (what a handler's import may not do, in a fresh
interpreter as Lambda imports it: tests/offline/test_cold_start.py)."""

from __future__ import annotations

import itertools

import pytest


def test_the_tracer_facade_decides_as_powertools_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """LazyTracer.enabled says Powertools' rule with its public names; Powertools' own (private) answer is the reference,
    so an upgrade that changes the rule fails here."""
    from aws_lambda_powertools import Tracer

    from mesh_rollout.observability import LazyTracer

    choices = {
        "POWERTOOLS_TRACE_DISABLED": (None, "true", "false", "1", "0"),
        "LAMBDA_TASK_ROOT": (None, "/var/task", ""),
        "AWS_SAM_LOCAL": (None, "true"),
        "AWS_CHALICE_CLI_MODE": (None, "true"),
    }
    for values in itertools.product(*choices.values()):
        for name, value in zip(choices, values, strict=True):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        assert LazyTracer.enabled() is not bool(Tracer._is_tracer_disabled()), values
