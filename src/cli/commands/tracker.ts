/**
 * `snaplake tracker ...`: the task-status table.
 *   tracker create --table <name> [--index <name>]             create it (idempotent), wait until ACTIVE
 *   tracker status --table <name> --project <id> --step <step>  counts per status and the step's barrier;
 *                                                              exit 0 when every task succeeded, else 1
 *   tracker reset  --table <name> --project <id> --step <step> [--status failed,ignored]
 * All take [--endpoint <url>] [--region <region>]; credentials come from the standard AWS chain.
 * The AWS SDK and the tracker are imported when a command runs, so the CLI starts fast.
 */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import { ConfigError } from "../../errors.js";
import type { DynamoTracker } from "../../tracker/dynamo-tracker.js";
import { TASK_STATUSES, type TaskStatus } from "../../tracker/types.js";
import { action } from "../action.js";
import { type DynamoConnectionOptions, withDynamoClient, withDynamoOptions } from "../dynamodb.js";
import { ExitCode } from "../exit-codes.js";
import { withShownErrors } from "../task-errors.js";

interface ConnectionOptions extends DynamoConnectionOptions {
  table: string;
  index?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: commander's own argument-list type
function withConnection<A extends any[], O extends OptionValues>(command: Command<A, O>) {
  return withDynamoOptions(
    command
      .requiredOption("--table <name>", "DynamoDB table holding the task statuses")
      .option("--index <name>", "name of the status index (default: by-status)"),
  );
}

async function withTracker<T>(
  options: ConnectionOptions,
  fn: (tracker: DynamoTracker) => Promise<T>,
): Promise<T> {
  const [{ createLogger }, { DynamoTracker }] = await Promise.all([
    import("../../logging.js"),
    import("../../tracker/dynamo-tracker.js"),
  ]);
  return withDynamoClient(options, (client) =>
    fn(
      new DynamoTracker({
        client,
        tableName: options.table,
        ...(options.index ? { indexName: options.index } : {}),
        logger: createLogger({ name: "snaplake-tracker" }),
      }),
    ),
  );
}

function parseStatuses(value: string): TaskStatus[] {
  const statuses = value.split(",").map((s) => s.trim());
  const unknown = statuses.filter((s) => !(TASK_STATUSES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new ConfigError("--status", [
      `unknown status ${unknown.join(", ")}; use ${TASK_STATUSES.join(", ")}`,
    ]);
  }
  return statuses as TaskStatus[];
}

export function register(program: Command): void {
  const tracker = program.command("tracker").description("Create and inspect the DynamoDB task-status table");

  withConnection(
    tracker.command("create").description("Create the table and its status index (idempotent)"),
  ).action(
    action(async (options) => {
      await withTracker(options, (t) => t.createTable());
      process.stdout.write(`Table ${options.table} is ACTIVE\n`);
      return ExitCode.ok;
    }),
  );

  withConnection(
    tracker.command("status").description("Counts per status of one step, and whether all succeeded"),
  )
    .requiredOption("--project <id>", "project id")
    .requiredOption("--step <step>", "step name")
    .option("--json", "print JSON")
    .action(
      action(async (options) => {
        const result = await withTracker(options, (t) => t.barrier(options.project, options.step));
        if (options.json) {
          const shown = { ...result, missing: result.missing.map(withShownErrors) };
          process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
        } else {
          const counts = TASK_STATUSES.map((s) => `${s} ${result.counts[s]}`).join(", ");
          const lines = [`${result.total} tasks: ${counts}`, result.complete ? "complete" : "not complete"];
          for (const task of result.missing.filter((t) => t.status === "failed" || t.status === "ignored")) {
            const last = task.errors.at(-1);
            lines.push(
              `  ${task.taskId}: ${task.status} after ${task.attempts} attempts: ${last?.name}: ${last?.message}`,
            );
          }
          process.stdout.write(`${lines.join("\n")}\n`);
        }
        return result.complete ? ExitCode.ok : ExitCode.failed;
      }),
    );

  withConnection(
    tracker.command("reset").description("Make failed and ignored tasks of a step pending again"),
  )
    .requiredOption("--project <id>", "project id")
    .requiredOption("--step <step>", "step name")
    .option("--status <list>", "comma-separated statuses to reset", "failed,ignored")
    .action(
      action(async (options) => {
        const statuses = parseStatuses(options.status);
        const count = await withTracker(options, (t) => t.reset(options.project, options.step, { statuses }));
        process.stdout.write(`Reset ${count} task(s) to pending\n`);
        return ExitCode.ok;
      }),
    );
}
