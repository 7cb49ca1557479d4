"""Handler event shapes: what each state of the state machines passes to its Lambda function.

One module per handler, named after it (handlers/<name>.py parses mesh_rollout.events.<name>), so a cold start
builds only the pydantic models its handler needs; route and service_revision hold bases shared by a few."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictStr


class HandlerEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    executionArn: StrictStr | None = None
