"""Domain package shared by every mesh-rollout Lambda handler."""
