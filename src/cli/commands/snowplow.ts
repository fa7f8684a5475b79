/**
 * `snaplake snowplow to-json [files...]`: enriched TSV (plain or gzip; stdin when no file) to the
 * analytics-SDK JSON, one object per line on stdout. Bad lines go to stderr with file, line and reasons.
 * The transform is imported when the command runs, so the CLI starts fast.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Command } from "@commander-js/extra-typings";
import { action } from "../action.js";
import { ExitCode } from "../exit-codes.js";

/** Peeks at the first two bytes and gunzips when they are the gzip magic, whatever the file is called. */
async function maybeGunzip(input: Readable): Promise<AsyncIterable<Buffer>> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      yield Buffer.from(next.value);
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const { Readable: ReadableStream } = await import("node:stream");
    return ReadableStream.from(replay()).pipe(createGunzip());
  }
  return replay();
}

/**
 * Lines split on "\n" only, with a final "\r" dropped — the same rule as the reader (node's readline would
 * also split on a lone "\r" and shift line numbers). A final newline ends the last line.
 */
async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let pending = "";
  const decoder = new TextDecoder("utf-8");
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = pending.indexOf("\n"); end !== -1; end = pending.indexOf("\n", start)) {
      yield pending.slice(start, end);
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending;
}

/** Writes respecting back-pressure, so piping into a slow consumer does not buffer the whole file. */
async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise((resolve) => stream.once("drain", resolve));
}

async function toJson(files: string[], keepGoing: boolean): Promise<number> {
  const [{ EnrichedEventError }, { transformEnrichedEvent }] = await Promise.all([
    import("../../snowplow/errors.js"),
    import("../../snowplow/transform.js"),
  ]);
  const sources: Array<[string, () => Readable]> =
    files.length === 0
      ? [["<stdin>", () => process.stdin]]
      : files.map((file) => [file, () => createReadStream(file)]);
  let badLines = 0;
  for (const [name, open] of sources) {
    let lineNumber = 0;
    for await (const line of lines(await maybeGunzip(open()))) {
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
