"""Gating ECS's own deployments (BLUE_GREEN, LINEAR, CANARY): the EcsDeploymentStateMachine's plan, steps, hook events and clean-up."""
