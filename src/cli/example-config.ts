/**
 * The example `snaplake init` writes: every field, with what it does. In its own module, so `init` starts
 * without the config parser (which loads the project and polars); test/cli/project-commands.test.ts checks
 * that the config parser accepts it.
 */
export const EXAMPLE_CONFIG = `// snaplake project configuration (JSON with comments).
// Relative paths are resolved against this file's folder; use s3://bucket/prefix/ URIs for S3.
{
  // One id per snapshot-to-lake conversion: the tracker keys every task by it.
  "projectId": "orders-2024-06-01",

  // Where the snapshot is: a folder of data files, optionally filtered: "include" and "exclude" take a glob or
  // a list of globs ("*.parquet" matches file names anywhere, "run=2024-*/**" paths under the folder;
  // exclude wins), "includeRegex" a regular expression on the path under the folder;
  // or { "manifestUri": "..." } for a manifest you wrote (summary JSON + Parquet/NDJSON file list),
  // or { "dynamodbExport": "s3://bucket/prefix/AWSDynamoDB/<exportId>/" } for a DynamoDB full export to S3
  // (its own manifests list the files and their item counts; read it with the dynamodb-export reader),
  // or { "rdsExport": "s3://bucket/prefix/<export-identifier>/", "table": "database.schema.table" } for one
  // table of an RDS/Aurora snapshot export (Parquet: read it with the parquet reader).
  // A manifest's files must lie in its own folder (or bucket, for a manifest in S3); list any other
  // folders or buckets in "allowedRoots": [...]. A manifest in S3 may never name a local path.
  "snapshot": { "uri": "./snapshot/", "include": "*.parquet" },

  // How to read the snapshot's files: parquet | csv | ndjson | auto | snowplow-enriched | dynamodb-export.
  // auto picks parquet, csv, tsv or ndjson per file by its extension (each maybe .gz).
  // csv (and auto) take "separator", "hasHeader", "schema" (column types, e.g. { "amount": "Float64",
  // "day": "Date" }), "tryParseDates" and "dateFormat" (e.g. "%d/%m/%Y", for the Date/Datetime columns of
  // "schema"); snowplow-enriched "shred", "dedupe" and "eventManifestTable";
  // dynamodb-export: { "format": "dynamodb-export",
  //   "nested": "struct" | "json",      (maps and lists as struct/list columns, or as JSON text)
  //   "mixedTypes": "error" | "json",   (an attribute of two types fails, or becomes JSON text)
  //   "binary": "base64" | "bytes",     (B values as base64 text, or as Binary)
  //   "columns": { "attr": { "name": "renamed", "type": "string|int64|float64|boolean|json" } } }
  "reader": { "format": "parquet" },

  // Columns computed after reading: strftime of a time column, or a string copy of a column.
  "derivedColumns": [
    { "name": "year", "from": "order_time", "format": "%Y" },
    { "name": "month", "from": "order_time", "format": "%m" }
  ],

  // Manifests and staging Parquet go here; the compacted lake there.
  "stagingUri": "./lake/staging/",
  "datalakeUri": "./lake/datalake/",

  "partitionKeys": ["year", "month"],
  "sortBy": ["order_time", { "column": "order_id", "descending": false }],

  // Step 1 reads the snapshot in groups of about this size; step 2 writes files of about this size.
  "targetFileGroupSize": "100MB",
  "targetParquetFileSize": "128MB",
  // Codec of the lake files (staging files are written in the lake's form, so with it too).
  "compression": "zstd",
  "rowGroupSize": 122880,

  // Optional: keep only the latest row per record id (both columns, or neither).
  // "recordIdColumn": "order_id",
  // "updateTimeColumn": "updated_at",

  // Without tableName the embedded tracker (dynalite in .snaplake/ beside this file) is used: no AWS account
  // needed, and every snaplake process on this machine shares it.
  // With it, tasks live in that DynamoDB table, shared by every worker (create it: snaplake tracker create).
  "tracker": {
    // "tableName": "snaplake-tasks",
    "leaseSeconds": 300,
    "maxAttempts": 3,
    // Errors that can pass (network, throttling) are retried after this wait, doubled per attempt;
    // the others (bad config or data) fail the task at once.
    "retryDelaySeconds": 1
  },

  // The lake's table format. "hive": plain partition folders, readers see files as they are written.
  // "delta": a Delta Lake table; step 4 (commit) makes the run's files visible in one atomic commit after
  // validation. mode (delta): "append" | "overwrite" (the run becomes the whole table; older versions stay
  // readable until vacuumed) | "replacePartitions" (the partitions the run writes are replaced) | "merge"
  // (upserts and deletes by recordIdColumn, the table's key column(s): a DynamoDB incremental export).
  // "iceberg": an Apache Iceberg table, one snapshot per run, modes as delta but "merge"; its catalog is
  // { "type": "filesystem" } (the default) or { "type": "glue", "database": "...", "name": "..." } (Athena).
  // On S3 a Delta table (and an Iceberg table in the filesystem catalog) needs a logStore:
  // { "type": "dynamodb", "tableName": "delta_log" } (the commit table Delta Spark and delta-rs share) or
  // { "type": "conditional-put" } (AWS S3 conditional writes).
  "table": {
    "format": "hive",
    "mode": "append"
    // "logStore": { "type": "dynamodb", "tableName": "delta_log" }
    // "catalog": { "type": "glue", "database": "lake", "name": "events" }
  },

  // Region and endpoints; credentials come from the standard AWS chain, never from this file.
  "aws": {
    // "region": "us-east-1",
    // "s3Endpoint": "http://127.0.0.1:9000",
    // "forcePathStyle": true,
    // "dynamodbEndpoint": "http://127.0.0.1:8000"
  }
}
`;
