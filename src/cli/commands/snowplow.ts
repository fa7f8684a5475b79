/**
 * `snaplake snowplow to-json [files...]`: enriched TSV (plain or gzip; stdin when no file) to the
 * analytics-SDK JSON, one object per line on stdout. Bad lines go to stderr with file, line and reasons.
 * The transform is imported when the command runs, so the CLI starts fast.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import type { Command } from "@commander-js/extra-typings";
import { action } from "../action.js";
import { ExitCode } from "../exit-codes.js";

/** Writes respecting back-pressure, so piping into a slow consumer does not buffer the whole file. */
async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise((resolve) => stream.once("drain", resolve));
}

async function toJson(files: string[], keepGoing: boolean): Promise<number> {
  const [{ EnrichedEventError }, { transformEnrichedEvent }, { textLines }] = await Promise.all([
    import("../../snowplow/errors.js"),
    import("../../snowplow/transform.js"),
    import("../../snowplow/text-lines.js"),
  ]);
  const sources: Array<[string, () => Readable]> =
    files.length === 0
      ? [["<stdin>", () => process.stdin]]
      : files.map((file) => [file, () => createReadStream(file)]);
  let badLines = 0;
  for (const [name, open] of sources) {
    let lineNumber = 0;
    for await (const line of textLines(open())) {
      lineNumber++;
      try {
        await write(process.stdout, `${JSON.stringify(transformEnrichedEvent(line))}\n`);
      } catch (error) {
        if (!(error instanceof EnrichedEventError)) throw error;
        badLines++;
        const reasons = error.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
        await write(process.stderr, `${name}:${lineNumber}: ${reasons}\n`);
      }
    }
  }
  if (badLines > 0) {
    process.stderr.write(`snaplake: ${badLines} bad line(s)${keepGoing ? " skipped (--keep-going)" : ""}\n`);
    return keepGoing ? ExitCode.ok : ExitCode.failed;
  }
  return ExitCode.ok;
}

export function register(program: Command): void {
  const snowplow = program.command("snowplow").description("Snowplow enriched events");
  snowplow
    .command("to-json")
    .description(
      "Convert enriched TSV (plain or gzip; stdin when no file is given) to analytics-SDK JSON lines on stdout",
    )
    .argument("[files...]", "enriched event files (.gz/.gzip detected by content)")
    .option(
      "--keep-going",
      "exit 0 even when bad lines were found (they are still reported on stderr)",
      false,
    )
    .action(
      action(async (files: string[], options: { keepGoing: boolean }) => toJson(files, options.keepGoing)),
    );
}
