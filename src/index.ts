/**
 * snaplake's public API (`import … from "snaplake"`): what a user needs to configure and run a project,
 * write a reader, run the steps one by one, open the lake table and handle errors. The rest is internal.
 * Subpaths: `snaplake/lambda` (the AWS Lambda handler and the Step Functions definition), `snaplake/snowplow`
 * (Snowplow enriched events), `snaplake/table` (Delta Lake tables) and `snaplake/testing` (sample data
 * generators).
 *
 * @module snaplake
 */

export {
  ALLOCATOR_ENV,
  type AllocatorTuning,
  keepFreedMemory,
  LAUNCH_GLIBC_TUNABLES,
  launchEnv,
} from "./allocator.js";
export type { GlueCatalogClient, S3ClientOptions } from "./clients/aws.js";
// --- configuration ---------------------------------------------------------------------------------------
export {
  COMPRESSIONS,
  type Compression,
  type ParseConfigOptions,
  type ProjectConfig,
  type ProjectConfigInput,
  parseProjectConfig,
  projectConfigSchema,
  type SortKey,
  TABLE_FORMATS,
  TABLE_MODES,
  type TableSettings,
} from "./config.js";
export {
  type ConfiguredProjectDefinition,
  createConfiguredProject,
  type DerivedColumnSpec,
  derivedColumnSpecSchema,
  FileFormatProject,
  parseConfiguredProject,
  type ReaderSpec,
  readerSpecSchema,
} from "./configured-project.js";
// --- errors and logging ------------------------------------------------------------------------------------
export {
  AwsCredentialsError,
  ConfigError,
  EndpointUnreachableError,
  ERROR_CATALOGUE,
  type ErrorCatalogueEntry,
  type ErrorCode,
  errorCatalogueMarkdown,
  isRetryable,
  SnaplakeError,
} from "./errors.js";
// --- writing a reader --------------------------------------------------------------------------------------
export type { FrameLike } from "./frames/convert.js";
export { LakeSchemaMismatchError, SchemaConflictError } from "./frames/harmonize.js";
export { createLogger, type LogDestination, type Logger, silentLogger } from "./logging.js";
export { PartitionPathTooLongError, type PartitionValues } from "./models/hive.js";
export { Locations } from "./models/locations.js";
export type {
  DataFile,
  LakeLayout,
  SnapshotFileGroup,
  SnapshotManifest,
  SnapshotSource,
} from "./models/manifests.js";
export {
  ManifestEntryOutsideRootsError,
  ManifestError,
  type SnapshotConfinement,
} from "./models/manifests.js";
// --- projects: the Project class, its runtime (storage + tracker from a config) ------------------------------
export {
  type ActivityEvent,
  NotValidatedError,
  type OptimizeSummary,
  type ProgressEvent,
  Project,
  type ProjectDependencies,
  ProjectNotTrackedError,
  type RunOptions,
  type RunSummary,
  StepFailedError,
} from "./project.js";
export {
  BUILT_IN_READER_FORMATS,
  findReaderFormat,
  type ReaderFormat,
  readerFormatNames,
  registerReaderFormat,
} from "./readers/registry.js";
export type {
  BadRecord,
  BatchReadSnapshotDataFile,
  DerivedColumn,
  ReadContext,
  SnapshotReadResult,
} from "./readers/types.js";
export { EMBEDDED_TABLE_NAME, openRuntime, type Runtime } from "./runtime.js";
// --- the steps, as a catalogue and as plain functions ---------------------------------------------------------
export {
  GROUP_STEPS,
  type GroupStep,
  type GroupStepDefinition,
  type GroupStepStates,
  SINGLE_TASK_ID,
  SINGLE_TASK_STEPS,
  type SingleStepState,
  type SingleTaskStep,
  type SingleTaskStepDefinition,
  STEP_CATALOGUE,
  Step,
  type StepDefinition,
  type StepId,
  type StepOutcome,
  type StepRunner,
  type StepRunOptions,
  TaskDataInvalidError,
} from "./steps/catalogue.js";
export { ConfigChangedError, type ProjectSettings, type SettingName } from "./steps/settings.js";
export {
  buildSnapshotManifest,
  EmptySnapshotError,
  SnapshotChangedError,
  type SnapshotChanges,
} from "./steps/step-0-build-manifest.js";
export {
  PlanChangedError,
  type PlanResult,
  planSnapshotToStaging,
} from "./steps/step-1-1-plan-snapshot-to-staging.js";
export {
  DerivedColumnError,
  MissingPartitionColumnError,
  processSnapshotGroup,
  SnapshotFileChangedError,
  SnapshotFileReadError,
  SnapshotGroupReadError,
} from "./steps/step-1-3-process-snapshot-group.js";
export {
  DuplicateStagingFileError,
  planStagingToDatalake,
  RecordInSeveralPartitionsError,
  StageBarrierError,
} from "./steps/step-2-1-plan-staging-to-datalake.js";
export {
  compactPartitionGroup,
  type DedupeOptions,
  MissingColumnError,
  StagingFileReadError,
} from "./steps/step-2-3-compact-partition-group.js";
export {
  type PartitionReport,
  type TaskGap,
  ValidationFailedError,
  type ValidationResult,
  validateDatalake,
} from "./steps/step-3-validate-datalake.js";
export { commitRun, RunIncompleteError } from "./steps/step-4-commit.js";
export { listTodo, writeTodoList } from "./steps/step-x-2-list-todo.js";
// --- storage and tracker ------------------------------------------------------------------------------------
export { type CreateStorageOptions, createStorage } from "./storage/create.js";
export * from "./storage/errors.js";
export type { LocalRoots } from "./storage/local.js";
export type {
  Body,
  CopyResult,
  GetOptions,
  ObjectInfo,
  ObjectSummary,
  PutOptions,
  PutResult,
  Storage,
} from "./storage/types.js";
export { type DeltaTable, openDeltaTable } from "./table/delta/table.js";
// --- the lake table ------------------------------------------------------------------------------------------
export { type LakeCommitResult, type LakeTable, openLakeTable } from "./table/index.js";
export { DynamoTracker, type DynamoTrackerOptions } from "./tracker/dynamo-tracker.js";
export { type EmbeddedHostInfo, EmbeddedTracker, EmbeddedTrackerBusyError } from "./tracker/embedded.js";
export * from "./tracker/errors.js";
export type {
  BarrierResult,
  Lease,
  RunTaskResult,
  StatusCounts,
  Task,
  TaskContext,
  TaskData,
  TaskErrorRecord,
  TaskSpec,
  TaskStatus,
  TaskTracker,
} from "./tracker/types.js";
