"""Offline tooling for mesh-rollout: run the real state machines against an emulated AWS account."""
