"""Step Functions in the emulated account: stops and Lambda service errors as AWS has them.

- StopExecution ends the execution ABORTED at once (moto lets a Task waiting on a task token either fail the
  execution with States.Runtime or, now and then, wait out its whole timeout); as on AWS, no Catch runs.
- A Lambda service error (throttling, 5xx) of a Task whose Resource is a function ARN is named as AWS names it,
  `Lambda.<code>` (moto names it `Exception`, which no Retry or Catch of ours matches).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution


def _remember_stop(original: Any) -> Any:
    def stop(self: Execution, stop_date: Any, error: str | None, cause: str | None) -> None:
        self._mesh_rollout_stopped = True  # type: ignore[attr-defined]
        original(self, stop_date, error, cause)
        # moto only marks the program stopped: a Task waiting on a task token (or inside a Map waiting for such a
        # Task) would sleep for its whole timeout. As on AWS, a stop ends the waits at once.
        worker = self.exec_worker
        pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
        for endpoint in list(getattr(pool, "_pool", {}).values()):
            endpoint.interrupt_all()

    return stop


def _aborted_when_stopped(original: Any) -> Any:
    def reflect(self: BaseExecutionWorkerCommunication) -> None:
        original(self)
        if getattr(self.execution, "_mesh_rollout_stopped", False):
            self.execution.exec_status = ExecutionStatus.ABORTED
            self.execution.error = self.execution.cause = None

    return reflect


def _lambda_service_errors_named(original: Any) -> Any:
    def from_error(self: StateTaskLambda, env: Any, ex: Exception) -> FailureEvent:
        if not isinstance(ex, ClientError):
            return original(self, env, ex)  # type: ignore[no-any-return]
        # As AWS reports it: "Lambda.TooManyRequestsException", the message and the response details.
        code, metadata = ex.response["Error"]["Code"], ex.response.get("ResponseMetadata", {})
        error = f"Lambda.{code}"
        cause = (
            f"{ex.response['Error'].get('Message', '')} (Service: AWSLambda; Status Code: {metadata.get('HTTPStatusCode')}; "
            f"Error Code: {code}; Request ID: {metadata.get('RequestId', '')}; Proxy: null)"
        )
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
            ),
        )

    return from_error


def install() -> None:
    Execution.stop = _remember_stop(Execution.stop)  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication._reflect_execution_status = _aborted_when_stopped(  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication._reflect_execution_status
    )
    StateTaskLambda._from_error = _lambda_service_errors_named(StateTaskLambda._from_error)  # type: ignore[method-assign]
