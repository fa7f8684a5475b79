/**
 * `snaplake/snowplow`: Snowplow enriched events (the 131-field TSV reader, the JSON transform, run manifests,
 * the event manifest and its populator) and the ready `SnowplowEnrichedProject`.
 *
 * @module snaplake/snowplow
 */
export * from "../snowplow/index.js";
export {
  SNOWPLOW_DEFAULTS,
  SnowplowEnrichedProject,
  type SnowplowProjectOptions,
  withSnowplowDefaults,
} from "../snowplow/project.js";
