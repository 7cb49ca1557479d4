"""Named errors: the class names are the contract with the state machines' Retry, Catch and Fail states.

Two kinds, told apart by a comment above each class of the second:
- raised by a handler (Step Functions sees the exception's class name as the Error): InvalidRolloutInput and its
  subclasses, TransientAwsError, ResourceConflict, AwsRequestRejected, MeshResourceNotFound (aws.classify makes the
  four from botocore's errors), RolloutInProgress, RouteDrifted, LockLost, WeightsNotApplied;
- named, never raised: an ASL Fail state's Error, or a name a function returns as data for a Fail state to read
  (FinishEcsDeployment's `error`, readable_failure's): LambdaServiceError, DeploymentFailed, DeploymentTimedOut,
  UpdateServiceFailed, RollbackFailed, CanaryUnhealthy, ApprovalRejected, ApprovalTimedOut, EcsRolledBack,
  DeploymentSuperseded, FinalizeFailed, DryRunFoundProblems. They are classes all the same so that error_names()
  (what the ASL may match) and the code that names them share one spelling.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class MeshRolloutError(Exception):
    """Base of every named error: those a handler raises on purpose, and those only named (see the module's docstring)."""


# --- Input and world errors: never retried, they fail the execution before any change ----------


# Problems listed in one message at most; the rest are counted. A Lambda error's message and a Step Functions
# cause stay readable on one line.
MAX_LISTED_PROBLEMS = 10
# Between problems: the problems themselves use "; " ("unknown field; did you mean bakeSeconds?").
PROBLEM_SEPARATOR = " | "


class InvalidRolloutInput(MeshRolloutError):
    """The input is malformed; the message starts with the offending field, then any further `field: problem`."""

    def __init__(self, field: str, problem: str, *more: tuple[str, str]) -> None:
        self.field = field
        self.problems = [(field, problem), *more]
        super().__init__(problems_text(self.problems))

    @classmethod
    def of(cls, problems: Sequence[tuple[str, str]]) -> InvalidRolloutInput:
        """One error for every (field, problem), in the order given, each once (there must be one)."""
        unique = list(dict.fromkeys(problems))
        return cls(*unique[0], *unique[1:])


def check_all(rules: Iterable[Callable[[T], None]], value: T, failed: Sequence[InvalidRolloutInput] = ()) -> None:
    """Run every rule on `value` and raise one error with every problem found (after those already `failed`);
    a single failure is raised as it is, keeping its own class (UnknownReference, ...)."""
    found = list(failed)
    for rule in rules:
        try:
            rule(value)
        except InvalidRolloutInput as exc:
            found.append(exc)
    if len(found) == 1:
        raise found[0]
    if found:
        raise InvalidRolloutInput.of([problem for exc in found for problem in exc.problems])


def problems_text(problems: Sequence[tuple[str, str]]) -> str:
    """'a: x | b: y', with problems past MAX_LISTED_PROBLEMS counted."""
    listed = [f"{field}: {problem}" for field, problem in problems[:MAX_LISTED_PROBLEMS]]
    left = len(problems) - len(listed)
    return PROBLEM_SEPARATOR.join([*listed, *([f"and {left} more problem{'s' if left > 1 else ''}"] if left else [])])


class UnknownReference(InvalidRolloutInput):
    """The input refers to a mesh, node, router or service that neither the input nor AWS has."""


class EcsServiceNotFound(InvalidRolloutInput):
    """An ecsServices entry names a cluster or service that does not exist."""


class IncompatibleTaskDefinition(InvalidRolloutInput):
    """The service's task definition cannot run an App Mesh Envoy sidecar as the guide requires."""


# --- AWS errors, classified -----------------------------------------------------------------------


class TransientAwsError(MeshRolloutError):
    """Throttling, a 5xx or a timeout: the state machine retries it with backoff and jitter."""


class ResourceConflict(MeshRolloutError):
    """A concurrent create or update won the race: retried, and the retry converges."""


# Named, never raised: every state machine's Fail state for a Lambda service error, and readable_failure's name for it
class LambdaServiceError(MeshRolloutError):
    """The Lambda service kept failing to run a step's function (throttled, unavailable) past the state
    machine's retries; the cause starts with AWS's own error name (Lambda.TooManyRequestsException ...)."""


# What Step Functions reports when the Lambda service (not our code) fails a task's invocation; AWS's
# documentation recommends retrying them, and the state machines do, then name what outlasts the retries.
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)


def readable_failure(failure: dict[str, Any] | None) -> tuple[str, str]:
    """(error, message) of a Catch result, whose Cause is a Lambda error document or plain text. A Lambda
    service error that outlasted the retries (`Lambda.TooManyRequestsException` ...) gets our own name."""
    if not failure:
        return "", ""
    error, cause = str(failure.get("Error", "")), str(failure.get("Cause") or "")
    try:
        document = json.loads(cause)
    except ValueError:
        document = None
    if isinstance(document, dict) and "errorMessage" in document:
        cause = str(document["errorMessage"])
    if error in LAMBDA_SERVICE_ERRORS:
        return LambdaServiceError.__name__, f"{error}: {cause}"
    return error, cause


class AwsRequestRejected(MeshRolloutError):
    """AWS refused the request for good (access denied, bad request, limit): not retried."""


class MeshResourceNotFound(MeshRolloutError):
    """A resource that must exist at this step is gone (deleted behind our back)."""


# --- Rollout outcomes ------------------------------------------------------------------------------


# Named, never raised: Fail states (ECS service rollout, weight shift's release, ECS deployment), FinishEcsDeployment's `error`
class DeploymentFailed(MeshRolloutError):
    """The ECS deployment failed; the service was put back on its previous task definition."""


# Named, never raised: Fail states (ECS service rollout, ECS deployment), FinishEcsDeployment's `error`
class DeploymentTimedOut(MeshRolloutError):
    """The ECS deployment did not finish in time; the service was put back on its previous revision."""


# Named, never raised: the ECS service rollout's Fail state (UpdateService failed for good, the service rolled back)
class UpdateServiceFailed(MeshRolloutError):
    """UpdateService failed for good; as its call may have landed (a lost reply, a timeout), the service was put
    back on its previous revision (the cause says whether it had moved)."""


# Named, never raised: the ECS service rollout's Fail state, FinishRollout's and FinishEcsDeployment's `error`
class RollbackFailed(MeshRolloutError):
    """Putting a service back on its previous revision failed too; the cause says where it was left."""


# --- Weight shift (canary) outcomes -----------------------------------------------------------------


class RolloutInProgress(MeshRolloutError):
    """Another execution holds the route's lock; this one changed nothing."""


class RouteDrifted(MeshRolloutError):
    """The route's weights are not what this rollout last wrote (changed by hand): they are left alone."""


class LockLost(MeshRolloutError):
    """A weight write or the release's UpdateService found this execution no longer holding the route's lock (it
    was stopped and its clean-up took the route over): the write was undone, back to the snapshot the clean-up
    restores, or the canary service put back on the revision it ran before."""


class WeightsNotApplied(MeshRolloutError):
    """UpdateRoute succeeded but reading the route back shows other weights than were written."""


# Named, never raised: the weight shift's and the ECS deployment's Fail states
class CanaryUnhealthy(MeshRolloutError):
    """The health gate found the canary UNHEALTHY (or still PENDING after its re-checks): rolled back."""


# Named, never raised: the weight shift's and the ECS deployment's Fail states
class ApprovalRejected(MeshRolloutError):
    """An approver rejected the next step: rolled back."""


# Named, never raised: the weight shift's and the ECS deployment's Fail states
class ApprovalTimedOut(MeshRolloutError):
    """Nobody answered the approval request in time: rolled back."""


# --- ECS deployment (EcsDeploymentStateMachine) outcomes: FinishEcsDeployment names them, the Fail states read them ---


# Named, never raised: FinishEcsDeployment's `error`, which the ECS deployment's Fail states read
class EcsRolledBack(MeshRolloutError):
    """ECS rolled its deployment back by itself (an alarm, the circuit breaker, a pause nobody answered in time);
    the cause gives ECS's own status reason."""


# Named, never raised: FinishEcsDeployment's `error`, which the ECS deployment's Fail states read
class DeploymentSuperseded(MeshRolloutError):
    """ECS stopped the gated deployment for a newer one started by someone else, which is left alone."""


# Named, never raised: the weight shift's Fail state (FinalizeCanary failed)
class FinalizeFailed(MeshRolloutError):
    """The canary holds all the traffic but retiring the stable target, node or service failed."""


# Named, never raised: the Fail state of the weight shift and the ECS deployment after a dry run ("dryRun": true)
# that found problems
class DryRunFoundProblems(MeshRolloutError):
    """A dry run found problems the real run would hit; the cause is the dry run's plan with every one of them.
    Nothing was changed."""


def error_names() -> frozenset[str]:
    """Every named error, raised or only named (what the ASL may match)."""
    found: set[str] = set()
    pending = [MeshRolloutError]
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return frozenset(found)
