/**
 * `snaplake runs ...`: Snowplow run folders and run manifests, compatible with the Python/Scala SDKs.
 *   runs list <archive> [--include-archived] [--json]
 *   runs create <table> [--provisioned <read,write>]
 *   runs add <table> <runId>
 *   runs contains <table> <runId>     prints true/false; exit 0 when present, 1 when absent
 *   runs status <table> <runId>       the claim state as JSON (null when absent)
 * DynamoDB is reached with the default AWS chain; --endpoint or AWS_ENDPOINT_URL_DYNAMODB point it at a local server.
 * The AWS SDK and storage are imported when a command runs, so the CLI starts fast.
 */
import type { Command } from "@commander-js/extra-typings";
import { ConfigError } from "../../errors.js";
import type { RunManifests, TableBilling } from "../../snowplow/run-manifests.js";
import { action } from "../action.js";
import { type DynamoConnectionOptions, withDynamoClient, withDynamoOptions } from "../dynamodb.js";
import { ExitCode } from "../exit-codes.js";

function parseProvisioned(value: string): TableBilling {
  const match = /^(\d+),(\d+)$/.exec(value);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new ConfigError("--provisioned", [
      `expected <read>,<write> capacity units (e.g. 5,5), got "${value}"`,
    ]);
  }
  return { mode: "provisioned", readCapacityUnits: Number(match[1]), writeCapacityUnits: Number(match[2]) };
}

async function withManifests<T>(
  table: string,
  options: DynamoConnectionOptions,
  fn: (manifests: RunManifests) => Promise<T>,
): Promise<T> {
  const { RunManifests } = await import("../../snowplow/run-manifests.js");
  return withDynamoClient(options, (client) => fn(new RunManifests(client, table)));
}

export function register(program: Command): void {
  const runs = program
    .command("runs")
    .description("Snowplow run folders (run=YYYY-MM-DD-HH-mm-ss/) and run manifest tables (SDK compatible)");

  runs
    .command("list")
    .description(
      "list the run ids under an enriched archive (s3://, s3a://, s3n:// or a local folder), oldest first",
    )
    .argument("<archive>", "the archive folder")
    .option("--include-archived", "also list runs whose data is in GLACIER or DEEP_ARCHIVE")
    .option("--json", "print a JSON array instead of one run id per line")
    .action(
      action(async (archive, options) => {
        const [{ listRunIds }, { createStorage }] = await Promise.all([
          import("../../snowplow/run-ids.js"),
          import("../../storage/create.js"),
        ]);
        const ids = await listRunIds(createStorage(), archive, {
          includeArchived: options.includeArchived ?? false,
        });
        process.stdout.write(options.json ? `${JSON.stringify(ids)}\n` : ids.map((id) => `${id}\n`).join(""));
        return ExitCode.ok;
      }),
    );

  withDynamoOptions(
    runs
      .command("create")
      .description(
        "create a run manifest table (hash key RunId) unless it exists, and wait until it is ACTIVE",
      )
      .argument("<table>", "DynamoDB table name")
      .option("--provisioned <read,write>", "provisioned capacity instead of on-demand billing"),
  ).action(
    action(async (table, options) => {
      const billing = options.provisioned ? parseProvisioned(options.provisioned) : undefined;
      await withManifests(table, options, (m) => m.create(billing ? { billing } : {}));
      process.stdout.write(`${table} is ACTIVE\n`);
      return ExitCode.ok;
    }),
  );

  withDynamoOptions(
    runs
      .command("add")
      .description("record a run as processed (a plain {RunId} item, as the SDKs write)")
      .argument("<table>", "DynamoDB table name")
      .argument("<runId>", "run id, e.g. enriched/archive/run=2017-02-21-11-40-15/"),
  ).action(
    action(async (table, runId, options) => {
      await withManifests(table, options, (m) => m.add(runId));
      return ExitCode.ok;
    }),
  );

  withDynamoOptions(
    runs
      .command("contains")
      .description("print true and exit 0 when the run is recorded as processed, else print false and exit 1")
      .argument("<table>", "DynamoDB table name")
      .argument("<runId>", "run id"),
  ).action(
    action(async (table, runId, options) => {
      const present = await withManifests(table, options, (m) => m.contains(runId));
      process.stdout.write(`${present}\n`);
      return present ? ExitCode.ok : ExitCode.failed;
    }),
  );

  withDynamoOptions(
    runs
      .command("status")
      .description("print a run's state (processing, completed, failed; attempts, lease, last error) as JSON")
      .argument("<table>", "DynamoDB table name")
      .argument("<runId>", "run id"),
  ).action(
    action(async (table, runId, options) => {
      const status = await withManifests(table, options, (m) => m.status(runId));
      process.stdout.write(`${JSON.stringify(status)}\n`);
      return ExitCode.ok;
    }),
  );
}
