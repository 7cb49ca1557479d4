"""Shifting traffic from stable to canary: the WeightShiftStateMachine's plan, steps, gate, lock and clean-up."""
