/**
 * `snaplake/lambda`: the AWS Lambda worker's `handler` (re-export it from your function's module:
 * `export { handler } from "snaplake/lambda"`) and the Step Functions definition that drives it.
 *
 * @module snaplake/lambda
 */
export {
  CONFIG_ENV,
  CONFIG_URI_ENV,
  closeLambdaRuntimes,
  handler,
  InvalidEventError,
  type LambdaEvent,
  type LambdaResult,
  lambdaEventSchema,
  parseLambdaEvent,
  type StepActionResult,
  type TaskActionResult,
  TaskAttemptsExhaustedError,
  TaskFailedError,
  TaskNotFoundError,
  type TodoActionResult,
} from "../aws/lambda.js";
export {
  type AslCatcher,
  type AslDefinition,
  type AslFailState,
  type AslMapState,
  type AslRetrier,
  type AslState,
  type AslSucceedState,
  type AslTaskState,
  assertRunsOnStepFunctions,
  buildStateMachine,
  NON_RETRYABLE_ERRORS,
  type StateMachineOptions,
} from "../aws/state-machine.js";
