/**
 * `snaplake populate-event-manifest <enriched-archive> <storage-config.json> <iglu-resolver.json>`:
 * a thin CLI over `populateEventManifest` (src/snowplow/populator.ts). Progress goes to stderr on a TTY,
 * the summary to stdout (text, or JSON with --json).
 * The populator (AWS SDK, DynamoDB) is imported inside the action, so other commands start without it.
 */
import type { Command } from "@commander-js/extra-typings";
import type { PopulateProgress, PopulateSummary } from "../../snowplow/populator.js";
import { action } from "../action.js";
import { ExitCode } from "../exit-codes.js";
import { wholeNumber } from "../options.js";

const SAMPLES_IN_TEXT = 10;

function formatSummary(summary: PopulateSummary): string {
  const { runs } = summary;
  const lines = [
    `${summary.dryRun ? "Dry run: nothing written to" : "Populated"} event manifest ${summary.table} from ${summary.archive}` +
      (summary.since ? ` (runs since ${summary.since})` : ""),
    `runs:            ${runs.selected} selected of ${runs.found} (${runs.processed} read, ${runs.alreadyDone} already done, ${runs.archived} archived and skipped)`,
    `files:           ${summary.files} (${summary.bytes} bytes)`,
    `lines:           ${summary.lines} (${summary.events} events)`,
    `written:         ${summary.written}`,
    `already present: ${summary.alreadyPresent + summary.duplicates} (${summary.duplicates} of them with another etl_tstamp)`,
    `bad lines:       ${summary.badLines}`,
    ...summary.badLineSamples
      .slice(0, SAMPLES_IN_TEXT)
      .map((bad) => `  ${bad.file}:${bad.line}: ${bad.reason}`),
    ...(summary.badLines > SAMPLES_IN_TEXT
      ? [`  ... (--json lists up to ${summary.badLineSamples.length})`]
      : []),
    `time:            ${(summary.durationMs / 1000).toFixed(1)} s (${summary.eventsPerSecond} events/s)`,
  ];
  return `${lines.join("\n")}\n`;
}

/** A byte-based progress line on stderr (log-update, as the run's live view), only when stderr is a terminal. */
async function progressBar(): Promise<
  { update: (p: PopulateProgress) => void; stop: () => void } | undefined
> {
  if (!process.stderr.isTTY) return undefined;
  const { createLogUpdate } = await import("log-update");
  const line = createLogUpdate(process.stderr);
  const width = 30;
  return {
    update(p) {
      const share = Math.min(1, p.bytesRead / Math.max(1, p.bytesTotal));
      const filled = Math.round(share * width);
      line(
        `${"█".repeat(filled)}${"░".repeat(width - filled)} ${Math.round(share * 100)}% | runs ${p.runsDone}/${p.runsTotal} | ` +
          `${p.lines} lines | ${p.written} written | ${p.badLines} bad`,
      );
    },
    stop: () => line.done(),
  };
}

export function register(program: Command): void {
  program
    .command("populate-event-manifest")
    .description(
      "back-fill Snowplow's DynamoDB event manifest (cross-batch de-duplication) from an enriched archive; " +
        "resumable and idempotent",
    )
    .argument(
      "<enriched-archive>",
      "s3://, s3a://, s3n:// or local folder holding run=YYYY-MM-DD-HH-mm-ss/ folders",
    )
    .argument("<storage-config>", "amazon_dynamodb_config JSON file (1-0-0, 1-0-1 or 2-0-0)")
    .argument("<iglu-resolver>", "Iglu resolver config JSON file (resolver-config 1-0-x; validated only)")
    .option("--since <time>", "only runs at or after YYYY-MM-dd or YYYY-MM-dd-HH-mm-ss (UTC, inclusive)")
    .option("--concurrency <n>", "DynamoDB writes in flight (default 32)", wholeNumber(1))
    .option(
      "--lease-seconds <n>",
      "claim lease per run; a crashed run is retried after it (default 60)",
      wholeNumber(1),
    )
    .option("--dry-run", "read and check every line, write nothing")
    .option("--json", "print the summary as JSON")
    .action(
      action(async (archive, storageConfigPath, resolverPath, options) => {
        const [{ readJsonFile }, { populateEventManifest }, { createLogger }] = await Promise.all([
          import("../../json-file.js"),
          import("../../snowplow/populator.js"),
          import("../../logging.js"),
        ]);
        const storageConfig = await readJsonFile(storageConfigPath, `storage config ${storageConfigPath}`);
        const resolverConfig = await readJsonFile(resolverPath, `Iglu resolver config ${resolverPath}`);
        const bar = await progressBar();
        // Ctrl-C / SIGTERM: let in-flight writes finish and release the run, so a re-run resumes at once.
        const interrupt = new AbortController();
        const stop = () => interrupt.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const logger = createLogger({ level: bar ? "error" : undefined });
        let summary: PopulateSummary;
        try {
          summary = await populateEventManifest({
            archive,
            storageConfig,
            resolverConfig,
            ...(options.since ? { since: options.since } : {}),
            ...(options.concurrency ? { concurrency: options.concurrency } : {}),
            ...(options.leaseSeconds ? { leaseMs: options.leaseSeconds * 1000 } : {}),
            dryRun: options.dryRun ?? false,
            logger,
            ...(bar ? { onProgress: bar.update } : {}),
            signal: interrupt.signal,
          });
        } finally {
          bar?.stop();
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
        process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
        return ExitCode.ok;
      }),
    );
}
