/**
 * snaplake's public API. Read top-down: configuration, the Project and its steps, then the parts it is
 * built from (storage, tracker, models, frames), then Snowplow, then AWS scale-out.
 */

// AWS: the Step Functions definition, and the SDK clients everything else is built on.
export { buildStateMachine } from "./aws/state-machine.js";
export * from "./clients/aws.js";
export * from "./config.js";
export * from "./configured-project.js";
export * from "./errors.js";
export * from "./frames/convert.js";
export * from "./frames/harmonize.js";
export * from "./frames/parquet.js";
export * from "./logging.js";
// What the steps are made of.
export * from "./models/fingerprint.js";
export * from "./models/hive.js";
export * from "./models/locations.js";
export * from "./models/manifests.js";
export * from "./models/pack.js";
// The workflow: the Project class, config-driven projects, the runtime, and each step as a function.
export * from "./project.js";
export * from "./redact.js";
export * from "./runtime.js";
export * from "./samples/orders.js";
// Snowplow: enriched events, run manifests, the event manifest, the ready project.
export * from "./snowplow/index.js";
export * from "./snowplow/project.js";
export * from "./steps/catalogue.js";
export * from "./steps/step-0-build-manifest.js";
export * from "./steps/step-1-1-plan-snapshot-to-staging.js";
export * from "./steps/step-1-3-process-snapshot-group.js";
export * from "./steps/step-2-1-plan-staging-to-datalake.js";
export * from "./steps/step-2-3-compact-partition-group.js";
export * from "./steps/step-3-validate-datalake.js";
export * from "./steps/step-x-2-list-todo.js";
export * from "./storage/index.js";
// Sample DynamoDB exports, for tests and demos.
export * from "./testing/dynamodb-export.js";
export * from "./tracker/index.js";
