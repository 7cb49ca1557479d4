"""Powertools singletons shared by every handler, and the settings handlers read from the environment."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="mesh-rollout")
tracer = Tracer(service="mesh-rollout")
metrics = Metrics(namespace="MeshRollout", service="mesh-rollout")

# Handler events carry the execution ARN here; Logger uses it as the correlation id.
CORRELATION_PATH = "executionArn"


def envoy_image() -> str:
    """The stack's EnvoyImage parameter, or the current App Mesh image for this region."""
    from mesh_rollout.onboarding.envoy import default_envoy_image

    return os.environ.get("ENVOY_IMAGE") or default_envoy_image(os.environ.get("AWS_REGION", "us-east-1"))
