export { DynamoTracker, type DynamoTrackerOptions } from "./dynamo-tracker.js";
export * from "./errors.js";
export { createTrackerModels, type TrackerModels } from "./models.js";
export * from "./types.js";
