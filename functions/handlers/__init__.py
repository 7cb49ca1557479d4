"""Lambda entry points: one module per state machine step."""
