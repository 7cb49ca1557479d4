"""Gating ECS's own deployments (BLUE_GREEN, LINEAR, CANARY): the EcsDeploymentStateMachine's steps and clean-up."""
