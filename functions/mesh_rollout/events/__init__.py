"""Handler event shapes: what each state of the state machines passes to its Lambda function.

One module per handler, named after it (handlers/<name>.py parses mesh_rollout.events.<name>), so a cold start
loads only its own; route and service_revision hold bases shared by a few. They are mesh_rollout.shapes' checked
dataclasses, not pydantic models: importing pydantic would cost every cold start more than the rest of the handler.
"""

from __future__ import annotations

from mesh_rollout.shapes import Shape


class HandlerEvent(Shape):
    executionArn: str | None = None
