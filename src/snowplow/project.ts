/**
 * `SnowplowEnrichedProject`: a ready `Project` for Snowplow enriched archives. Each snapshot file group is one
 * batch: its files are read as one enriched TSV stream, so natural de-duplication (same event_id and
 * fingerprint, earliest etl_tstamp kept) spans the batch; bad lines go to the bad-rows output with their file
 * and line; optionally the event manifest drops events already seen in an earlier batch (cross-batch
 * de-duplication, one etlTime per batch: its minimum etl_tstamp, as Snowplow's shredder does).
 * Defaults: partitioned by `event_date` (from collector_tstamp, UTC), sorted by collector_tstamp, event_id.
 */
import pl from "nodejs-polars";
import pLimit from "p-limit";
import type { ProjectConfigInput } from "../config.js";
import type { SnapshotFileGroup } from "../models/manifests.js";
import { Project, type ProjectDependencies } from "../project.js";
import type { DerivedColumn, ReadContext, SnapshotReadResult } from "../readers/types.js";
import type { EventManifest } from "./event-manifest.js";
import { eventKey } from "./event-manifest.js";
import { readEnrichedEventsAsync } from "./reader.js";

export interface SnowplowProjectOptions {
  /** Add one JSON column per context / unstruct schema (contexts_com_acme_checkout_step_2, ...). */
  shred?: boolean;
  /** In-batch natural de-duplication. Default true. */
  dedupe?: boolean;
  /** Cross-batch de-duplication against Snowplow's event manifest table. */
  eventManifest?: EventManifest;
}

export const SNOWPLOW_DEFAULTS = {
  partitionKeys: ["event_date"],
  sortBy: ["collector_tstamp", "event_id"],
} satisfies Partial<ProjectConfigInput>;

/** A config with Snowplow's defaults under its own values: the one place they are merged. */
export function withSnowplowDefaults<C extends Partial<ProjectConfigInput>>(config: C): C {
  return { ...SNOWPLOW_DEFAULTS, ...config };
}

interface BatchInput {
  /** The files' texts (decompressed), in file order: read as one stream, never copied into one buffer. */
  texts: Buffer[];
  /** Where each file's lines start in `text` (0-based line index), in file order. */
  files: Array<{ uri: string; firstLine: number }>;
}

/** Files of a group read and inflated at once (gunzip runs on libuv's thread pool). */
const FILE_READ_CONCURRENCY = 4;

/** The group's files (decompressed), in order, as one enriched TSV batch. */
async function readBatch(group: SnapshotFileGroup, context: ReadContext): Promise<BatchInput> {
  const limit = pLimit(FILE_READ_CONCURRENCY);
  const texts = await Promise.all(group.files.map((file) => limit(() => context.readFile(file.uri))));
  const parts: Buffer[] = [];
  const files: BatchInput["files"] = [];
  let lines = 0;
  for (const [index, file] of group.files.entries()) {
    const text = texts[index]!;
    if (text.length === 0) continue;
    files.push({ uri: file.uri, firstLine: lines });
    parts.push(text);
    // The reader ends a file's last line at its end, newline or not.
    for (let i = text.indexOf(0x0a); i !== -1; i = text.indexOf(0x0a, i + 1)) lines++;
    if (text[text.length - 1] !== 0x0a) lines++;
  }
  return { texts: parts, files };
}

/** The file and 1-based line of a 1-based batch line. */
function locate(batch: BatchInput, batchLine: number): { uri: string; line: number } {
  let file = batch.files[0]!;
  for (const candidate of batch.files) {
    if (candidate.firstLine < batchLine) file = candidate;
    else break;
  }
  return { uri: file.uri, line: batchLine - file.firstLine };
}

export class SnowplowEnrichedProject extends Project {
  readonly options: SnowplowProjectOptions;

  constructor(
    config: ProjectConfigInput,
    dependencies: ProjectDependencies,
    options: SnowplowProjectOptions = {},
  ) {
    super(withSnowplowDefaults(config), dependencies);
    this.options = options;
  }

  protected override readerSettings() {
    return {
      reader: {
        format: "snowplow-enriched",
        shred: this.options.shred ?? false,
        dedupe: this.options.dedupe ?? true,
        eventManifestTable: this.options.eventManifest?.tableName ?? null,
      },
    };
  }

  override derivedColumns(): DerivedColumn[] {
    return [{ name: "event_date", expr: pl.col("collector_tstamp").dt.strftime("%Y-%m-%d") }];
  }

  override async batchReadSnapshotDataFile(
    group: SnapshotFileGroup,
    context: ReadContext,
  ): Promise<SnapshotReadResult> {
    const batch = await readBatch(group, context);
    const { events, badRows, stats } = await readEnrichedEventsAsync(batch.texts, {
      source: `snapshot file group ${group.fingerprint}`,
      dedupe: this.options.dedupe ?? true,
      ...(this.options.shred ? { shred: true } : {}),
    });
    const dropped: Record<string, number> = { "natural-duplicates": stats.duplicates };
    let data = events;
    if (this.options.eventManifest && events.height > 0) {
      const etlTime = events.getColumn("etl_tstamp").min() as unknown as Date | number | null;
      if (etlTime !== null && etlTime !== undefined) {
        const ids = events.getColumn("event_id").toArray() as string[];
        const fingerprints = events.getColumn("event_fingerprint").toArray() as Array<string | null>;
        const seconds = etlTime instanceof Date ? etlTime.getTime() / 1000 : Number(etlTime) / 1000;
        const seen = await this.options.eventManifest.checkBatch(
          ids.map((eventId, i) => ({ eventId, fingerprint: fingerprints[i] })),
          seconds,
        );
        if (seen.size > 0) {
          const keep = ids.map((id, i) => !fingerprints[i] || !seen.has(eventKey(id, fingerprints[i]!)));
          data = events.filter(pl.Series("keep", keep, pl.Bool));
        }
      }
      dropped["cross-batch-duplicates"] = events.height - data.height;
    }
    return {
      data,
      badRows: badRows.map((row) => {
        const where = locate(batch, row.line);
        return { ...row, source: where.uri, line: where.line };
      }),
      dropped,
    };
  }
}
