/**
 * Reading and cleaning Delta and Iceberg tables (a lake written with `table.format: "delta"` or
 * `"iceberg"`, or any such table; the format is found from what lies under the URI, see table/detect.ts):
 *   table history <uri> [--json]              each version: time, operation, projectId, rows and files added/removed
 *   table files <uri> [--version N] [--json]  the active files at a version (default the latest)
 *   table history|files --config <file>       the same for a project's table, with its storage, log store, catalog
 *   vacuum <uri> --retain 7d [--yes]          lists the files no version in the window references; --yes deletes
 *   vacuum --config <file> --retain 7d [--yes]   the same for a project's table, with its storage and log store
 * An Iceberg table's version is its snapshots' sequence number (1, 2, 3…). Iceberg tables are read through
 * the filesystem catalog (metadata/ under the URI); Iceberg's vacuum also expires snapshots, which is a
 * commit: on S3 it takes the project's commit store, so use --config there.
 * S3 is reached with the default AWS chain (AWS_ENDPOINT_URL_S3 for a local server).
 */
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { ConfigError } from "../../errors.js";
import type { IcebergTableMetadata } from "../../table/iceberg/metadata.js";
import { action } from "../action.js";
import { ExitCode } from "../exit-codes.js";
import { wholeNumber } from "../options.js";
import { print, withProject } from "../session.js";

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A retention such as "7d", "12h" or "30m". */
function retention(value: string): number {
  const match = /^(\d+)([mhd])$/.exec(value);
  if (!match)
    throw new InvalidArgumentError('use a whole number of minutes, hours or days, e.g. "7d" or "12h"');
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/**
 * The table to read: at a URI (its format detected; Iceberg through the filesystem catalog), or a project's
 * table (`--config`: its storage, format, Delta log store and Iceberg catalog, Glue included, so that a
 * commit the DynamoDB commit table holds but S3 does not yet is finished and read, as the project's own
 * readers do). Also the libraries that read it; `close` ends the AWS clients it made.
 */
async function openTable(uri: string | undefined, configFile: string | undefined) {
  if (Boolean(uri) === Boolean(configFile))
    throw new ConfigError("the table", ["give either the table's <uri> or --config <file>, not both"]);
  const [{ createStorage }, { detectTableFormat }, delta, iceberg] = await Promise.all([
    import("../../storage/create.js"),
    import("../../table/detect.js"),
    import("../../table/delta/index.js"),
    import("../../table/iceberg/index.js"),
  ]);
  if (uri) {
    const storage = createStorage();
    const format = await detectTableFormat(storage, uri);
    if (format === "hive") {
      throw new ConfigError("the table URI", [
        `${uri} holds neither a Delta table (_delta_log/) nor an Iceberg table (metadata/ with a version hint or metadata JSON)`,
      ]);
    }
    const catalog = iceberg.fileSystemCatalogForReading(storage, uri);
    return { storage, uri, format, delta, iceberg, catalog, logStore: undefined, close: () => {} };
  }
  const [
    { loadConfigFile },
    { openStorage },
    { createDynamoDBClient, createGlueClient },
    { icebergCatalogFor },
    { deltaLogStoreFor },
  ] = await Promise.all([
    import("../config-file.js"),
    import("../../runtime.js"),
    import("../../clients/aws.js"),
    import("../../table/iceberg-lake-table.js"),
    import("../../table/delta-lake-table.js"),
  ]);
  const { config } = await loadConfigFile(configFile!);
  const storage = openStorage(config);
  const { format } = config.table;
  if (format === "hive") {
    throw new ConfigError(configFile!, [`table.format is "hive": a hive lake has no log to read`]);
  }
  let dynamodbClient: ReturnType<typeof createDynamoDBClient> | undefined;
  const dynamodb = () =>
    (dynamodbClient ??= createDynamoDBClient({
      region: config.aws.region,
      endpoint: config.aws.dynamodbEndpoint,
    }));
  const glue = () => createGlueClient({ region: config.aws.region, endpoint: config.aws.glueEndpoint });
  const uriOfTable = config.datalakeUri;
  // Without a commit store, a filesystem catalog on S3 can be read (not committed to): as for a URI.
  const throughProject =
    format === "iceberg" && (config.table.catalog?.type === "glue" || config.table.logStore !== undefined);
  const catalog = throughProject
    ? icebergCatalogFor(config.table, storage, uriOfTable, { dynamodb, glue })
    : iceberg.fileSystemCatalogForReading(storage, uriOfTable);
  const logStore = format === "delta" ? deltaLogStoreFor(config.table, storage, dynamodb) : undefined;
  const close = () => dynamodbClient?.destroy();
  return { storage, uri: uriOfTable, format, delta, iceberg, catalog, logStore, close };
}

/** `read` of the table openTable opens, its AWS clients ended after. */
async function withTable<T>(
  uri: string | undefined,
  configFile: string | undefined,
  read: (table: Awaited<ReturnType<typeof openTable>>) => Promise<T>,
): Promise<T> {
  const table = await openTable(uri, configFile);
  try {
    return await read(table);
  } finally {
    table.close();
  }
}

/** The Iceberg snapshot with this sequence number (a table version, as history prints it). */
function snapshotOfVersion(table: { metadata: IcebergTableMetadata; uri: string }, version: number) {
  const snapshot = table.metadata.snapshots.find((s) => s["sequence-number"] === version);
  if (!snapshot) {
    throw new ConfigError("--version", [
      `Iceberg table ${table.uri} has no snapshot with sequence number ${version} (expired, or never made); ` +
        "snaplake table history lists those there are",
    ]);
  }
  return snapshot["snapshot-id"];
}

const when = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

export function register(program: Command): void {
  const table = program
    .command("table")
    .description("read a Delta or Iceberg table's log: its history and files");

  table
    .command("history")
    .description("each version with its time, operation, projectId, and the rows and files added and removed")
    .argument("[uri]", "the table's root folder (s3:// or a local path); or --config")
    .option("-c, --config <file>", "a project config: its table (datalakeUri), with its storage and catalog")
    .option("--json", "print JSON on stdout")
    .action(
      action(async (given, options) => {
        const history = await withTable(
          given,
          options.config,
          async ({ storage, uri, format, delta, iceberg, catalog, logStore }) =>
            format === "delta"
              ? (await delta.openDeltaTable(storage, uri, { logStore })).history()
              : (await iceberg.openIcebergTable(storage, catalog))
                  .history()
                  .map((entry) => ({ version: entry.sequenceNumber, ...entry })),
        );
        print(Boolean(options.json), history, () =>
          history
            .map(
              (v) =>
                `${v.version}\t${when(v.timestamp)}\t${v.operation ?? "-"}\t${v.projectId ?? "-"}\t` +
                `+${v.filesAdded} files (${v.rowsAdded} rows)\t-${v.filesRemoved} files (${v.rowsRemoved} rows)`,
            )
            .join("\n"),
        );
        return ExitCode.ok;
      }),
    );

  table
    .command("files")
    .description("the active data files at a version, with partition values and row counts")
    .argument("[uri]", "the table's root folder (s3:// or a local path); or --config")
    .option("-c, --config <file>", "a project config: its table (datalakeUri), with its storage and catalog")
    .addOption(
      new Option(
        "--version <n>",
        "the table version (Iceberg: the snapshot's sequence number; default the latest)",
      ).argParser(wholeNumber(0)),
    )
    .option("--json", "print JSON on stdout")
    .action(
      action(async (given, options) => {
        const value = await withTable(
          given,
          options.config,
          async ({ storage, uri, format, delta, iceberg, catalog, logStore }) =>
            format === "delta"
              ? await delta.openDeltaTable(
                  storage,
                  uri,
                  options.version === undefined ? { logStore } : { version: options.version, logStore },
                )
              : await (async () => {
                  const current = await iceberg.openIcebergTable(storage, catalog);
                  const opened =
                    options.version === undefined
                      ? current
                      : await iceberg.openIcebergTable(storage, catalog, {
                          snapshotId: snapshotOfVersion(current, options.version),
                        });
                  const root = `${opened.uri}/`;
                  return {
                    version: opened.sequenceNumber,
                    snapshotId: opened.snapshotId,
                    partitionColumns: opened.partitionColumns,
                    schema: opened.schema,
                    files: opened.files.map((file) => ({ path: file.uri.slice(root.length), ...file })),
                  };
                })(),
        );
        const { version, partitionColumns, schema, files } = value;
        const snapshot = "snapshotId" in value ? { snapshotId: value.snapshotId } : {};
        print(Boolean(options.json), { version, ...snapshot, partitionColumns, schema, files }, () =>
          [
            `version ${version}: ${files.length} files`,
            ...files.map((f) => `${f.path}\t${f.size} bytes\t${f.rows ?? "?"} rows`),
          ].join("\n"),
        );
        return ExitCode.ok;
      }),
    );

  program
    .command("vacuum")
    .description(
      "list the files of a Delta or Iceberg table that no version inside the retention window references; --yes deletes them (Iceberg: after expiring the snapshots superseded before the window)",
    )
    .argument("[uri]", "the table's root folder (s3:// or a local path); or --config")
    .option(
      "-c, --config <file>",
      "a project config: vacuum its table (datalakeUri), with its AWS settings and log store",
    )
    .option("--state-dir <dir>", "with --config: folder of the embedded tracker")
    .addOption(
      new Option("--retain <duration>", "keep what versions this recent still reference, e.g. 7d")
        .argParser(retention)
        .makeOptionMandatory(),
    )
    .option("--yes", "delete the listed files (without it, only list them)")
    .option("--json", "print JSON on stdout")
    .action(
      action(async (uri, options) => {
        if (Boolean(uri) === Boolean(options.config))
          throw new ConfigError("vacuum", ["give either the table's <uri> or --config <file>, not both"]);
        const request = { retainMs: options.retain, dryRun: !options.yes };
        const result = options.config
          ? await withProject({ ...options, config: options.config }, ({ project }) =>
              project.vacuum(request),
            )
          : await (async () => {
              const { storage, format, delta, iceberg } = await openTable(uri, undefined);
              if (format === "delta") return delta.vacuum(storage, uri!, request);
              return iceberg.vacuumIcebergTable(
                storage,
                new iceberg.FileSystemCatalog(storage, uri!),
                request,
              );
            })();
        print(Boolean(options.json), result, () =>
          [
            ...result.files,
            `${result.files.length} files, ${result.bytes} bytes ${result.deleted ? "deleted" : "to delete (run again with --yes to delete them)"}`,
          ].join("\n"),
        );
        return ExitCode.ok;
      }),
    );
}
