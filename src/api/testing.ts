/**
 * `snaplake/testing`: deterministic sample data for tests and demos: an orders snapshot, Snowplow enriched
 * archives, DynamoDB exports and RDS snapshot exports.
 *
 * @module snaplake/testing
 */
export {
  type OrdersSnapshot,
  type OrdersSnapshotOptions,
  ordersFrame,
  writeOrdersSnapshot,
} from "../samples/orders.js";
export {
  type ArchiveOptions,
  type ArchiveResult,
  EnrichedEventGenerator,
  type GeneratorOptions,
  type GroundTruth,
  generateEnrichedTsv,
  writeEnrichedArchive,
} from "../snowplow/generator.js";
export * from "../testing/dynamodb-export.js";
export * from "../testing/rds-export.js";
