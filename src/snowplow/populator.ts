/**
 * The Event Manifest Populator, re-done as a resumable streaming job: it back-fills Snowplow's event
 * manifest (event-manifest.ts) from an enriched archive so cross-batch de-duplication does not start cold.
 * The original: github.com/snowplow/snowplow, `5-data-modeling/event-manifest-populator/` (`run.py`,
 * `Main.scala`, `BackpopulateJob.scala`, `Utils.scala`; removed from master, in the repository's history),
 * and its known limits in snowplow/snowplow issues #3074, #4042 and #4081.
 *
 * - Runs are the archive's `run=YYYY-MM-DD-HH-mm-ss/` folders at or after `since` (inclusive, UTC), oldest
 *   first. Runs with data in GLACIER/DEEP_ARCHIVE are skipped and counted.
 * - Every data file directly in a run folder (`part-*`, `*.gz`, `*.gzip`, plain; not `_SUCCESS`, hidden or
 *   empty files) is streamed line by line in constant memory; gzip is detected by its magic bytes.
 * - Each event is written with its OWN etl_tstamp as etlTime, as the original Populator did: re-running the
 *   populator (or the batch that produced the run) then finds the same etlTime and never flags the event.
 * - Progress is recorded per run in a run manifest table `<table>-populator-runs` (RunId = the run folder's
 *   URI) with claims and leases: finished runs are skipped on a re-run, an interrupted run is redone (its
 *   events already written count as "already present"), and two populators never work on one run at once.
 * - Malformed lines are counted and reported (file and line number), never fatal.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import pLimit from "p-limit";
import PQueue from "p-queue";
import { createDynamoDBClient } from "../clients/aws.js";
import { SnaplakeError } from "../errors.js";
import { type Logger, silentLogger } from "../logging.js";
import { scrubText } from "../redact.js";
import { createStorage } from "../storage/create.js";
import type { ObjectSummary, Storage } from "../storage/types.js";
import { asFolder, normalizeUri, parentFolder } from "../storage/uri.js";
import {
  type DynamoDbStorageConfig,
  parseDynamoDbStorageConfig,
  parseIgluResolverConfig,
} from "./dynamodb-config.js";
import { DEFAULT_EVENT_MANIFEST_CONCURRENCY, EventManifest, type RecordOutcome } from "./event-manifest.js";
import { ENRICHED_FIELD_COUNT, FIELD_INDEX } from "./fields.js";
import { fieldCountError, scalarError, splitEnrichedLine } from "./rules.js";
import { ARCHIVED_STORAGE_CLASSES, isDataObject, listRuns, parseSince, type RunFolder } from "./run-ids.js";
import { type RunLease, RunLeaseLostError, RunManifests } from "./run-manifests.js";
import { textLines } from "./text-lines.js";

export const DEFAULT_POPULATOR_LEASE_MS = 60_000;
const MAX_BAD_LINE_SAMPLES = 100;
/** DynamoDB's key size limits (bytes): longer values can't be stored, so such lines are bad lines. */
const MAX_HASH_KEY_BYTES = 2048;
const MAX_RANGE_KEY_BYTES = 1024;
const PROGRESS_EVERY_LINES = 1000;
const PLAN_LISTING_CONCURRENCY = 8;

export interface PopulateOptions {
  /** The enriched archive: s3://, s3a://, s3n:// or a local folder. */
  archive: string;
  /** A self-describing amazon_dynamodb_config (1-0-0, 1-0-1 or 2-0-0), as parsed JSON. */
  storageConfig: unknown;
  /** A self-describing Iglu resolver config (1-0-x), as parsed JSON. Validated only (nothing is fetched). */
  resolverConfig: unknown;
  /** Only runs at or after this time (UTC): `YYYY-MM-dd`, `YYYY-MM-dd-HH-mm-ss` or a Date. */
  since?: string | Date;
  /** Event writes in flight at once (default 32). */
  concurrency?: number;
  /** Read and check everything, write nothing (no table is created either). */
  dryRun?: boolean;
  /** How long a run's claim holds without renewal (renewed every third of it). Default 60 s. */
  leaseMs?: number;
  /** Where the archive is read from. Default: `createStorage()` (S3 with the default AWS chain, or local). */
  storage?: Storage;
  /** Overrides the DynamoDB client built from the storage config. */
  dynamodb?: DynamoDBClient;
  logger?: Logger;
  onProgress?: (progress: PopulateProgress) => void;
  /**
   * Stops the job: in-flight writes finish, the current run is marked failed (claimable again at once, so a
   * re-run resumes without waiting for the lease) and PopulateInterruptedError is thrown.
   */
  signal?: AbortSignal;
}

export interface PopulateProgress {
  runsTotal: number;
  runsDone: number;
  bytesTotal: number;
  bytesRead: number;
  lines: number;
  written: number;
  alreadyPresent: number;
  badLines: number;
}

export interface BadLine {
  /** URI of the file. */
  file: string;
  /** 1-based line number in the (uncompressed) file. */
  line: number;
  reason: string;
}

export interface PopulateSummary {
  archive: string;
  table: string;
  runsTable: string;
  /** ISO time, or null when every run was read. */
  since: string | null;
  dryRun: boolean;
  runs: {
    /** Run folders in the archive. */
    found: number;
    /** At or after `since`. */
    selected: number;
    /** Read in full by this call. */
    processed: number;
    /** Finished by an earlier call (recorded in the runs table). */
    alreadyDone: number;
    /** Skipped: data in GLACIER or DEEP_ARCHIVE. */
    archived: number;
  };
  files: number;
  /** Bytes read from storage (compressed size for gzip files). */
  bytes: number;
  /** Non-empty lines read. */
  lines: number;
  /** Lines with event_id, etl_tstamp and event_fingerprint (in a dry run: what would be written). */
  events: number;
  /** Items new in the manifest. */
  written: number;
  /** Events the manifest already held (same etlTime: an earlier populate or the batch itself). */
  alreadyPresent: number;
  /** Events the manifest already held with another etlTime (natural duplicates across runs). */
  duplicates: number;
  badLines: number;
  /** The first bad lines (at most 100). */
  badLineSamples: BadLine[];
  durationMs: number;
  /** `events` per second of wall time. */
  eventsPerSecond: number;
}

/** Thrown when `signal` aborts the job; `where` is the run being read, or the archive between runs. */
export class PopulateInterruptedError extends SnaplakeError {
  constructor(where: string) {
    super("POPULATE_INTERRUPTED", `Interrupted while reading ${where}; run the same command again to resume`);
  }
}

/** The table recording finished runs for a manifest table. */
export function populatorRunsTableName(table: string): string {
  return `${table}-populator-runs`;
}

interface RunPlan {
  run: RunFolder;
  files: ObjectSummary[];
  archived: boolean;
}

/** One enriched line as the event manifest sees it: its three key fields, or why it has none. */
export type ParsedLine = { eventId: string; fingerprint: string; etlTime: number } | { reason: string };

/** Epoch seconds of an etl_tstamp, or null when it is not a valid UTC timestamp. */
export function parseEtlTimestamp(value: string): number | null {
  // The reader's rule: what it rejects as a bad row gets no manifest item either.
  if (scalarError("etl_tstamp", "timestamp", value)) return null;
  const part = (from: number, to: number) => Number(value.slice(from, to));
  return Math.floor(
    Date.UTC(part(0, 4), part(5, 7) - 1, part(8, 10), part(11, 13), part(14, 16), part(17, 19)) / 1000,
  );
}

/** The three fields the manifest needs from one enriched TSV line, or why the line can't be used. */
export function parseManifestLine(line: string): ParsedLine {
  const fields = splitEnrichedLine(line);
  if (fieldCountError(fields)) {
    return { reason: `expected ${ENRICHED_FIELD_COUNT} tab-separated fields, found ${fields.length}` };
  }
  const eventId = fields[FIELD_INDEX.event_id] ?? "";
  const etlTstamp = fields[FIELD_INDEX.etl_tstamp] ?? "";
  const fingerprint = fields[FIELD_INDEX.event_fingerprint] ?? "";
  if (!eventId) return { reason: "event_id is empty" };
  if (!etlTstamp) return { reason: "etl_tstamp is empty" };
  if (!fingerprint) return { reason: "event_fingerprint is empty" };
  const etlTime = parseEtlTimestamp(etlTstamp);
  if (etlTime === null) return { reason: "etl_tstamp is not a timestamp (yyyy-MM-dd HH:mm:ss.SSS)" };
  if (Buffer.byteLength(eventId) > MAX_HASH_KEY_BYTES)
    return { reason: "event_id is longer than 2048 bytes" };
  if (Buffer.byteLength(fingerprint) > MAX_RANGE_KEY_BYTES) {
    return { reason: "event_fingerprint is longer than 1024 bytes" };
  }
  return { eventId, fingerprint, etlTime };
}

/** Lines of a stored file (plain or gzip); `onBytes` sees the raw bytes as they are read. */
async function* fileLines(
  storage: Storage,
  uri: string,
  onBytes: (bytes: number) => void,
): AsyncGenerator<string> {
  const raw = await storage.getStream(uri);
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of raw) {
      onBytes(chunk.length);
      yield chunk;
    }
  }
  try {
    yield* textLines(counted());
  } finally {
    raw.destroy();
  }
}

function emptySummary(archive: string, table: string, since: Date | null, dryRun: boolean): PopulateSummary {
  return {
    archive,
    table,
    runsTable: populatorRunsTableName(table),
    since: since ? since.toISOString() : null,
    dryRun,
    runs: { found: 0, selected: 0, processed: 0, alreadyDone: 0, archived: 0 },
    files: 0,
    bytes: 0,
    lines: 0,
    events: 0,
    written: 0,
    alreadyPresent: 0,
    duplicates: 0,
    badLines: 0,
    badLineSamples: [],
    durationMs: 0,
    eventsPerSecond: 0,
  };
}

/** Lists each selected run's data files (one listing per run, a few at once) and flags runs with archived data. */
async function planRuns(storage: Storage, runs: RunFolder[]): Promise<RunPlan[]> {
  const limit = pLimit(PLAN_LISTING_CONCURRENCY);
  return Promise.all(
    runs.map((run) =>
      limit(async () => {
        const files: ObjectSummary[] = [];
        for await (const object of storage.listSummaries(run.uri)) {
          // Only files directly in the run folder, like the original `run=X/*` glob.
          if (isDataObject(object) && parentFolder(object.uri) === run.uri) files.push(object);
        }
        const archived = files.some((file) => ARCHIVED_STORAGE_CLASSES.has(file.storageClass));
        return { run, files, archived };
      }),
    ),
  );
}

function dynamoClientFor(config: DynamoDbStorageConfig): DynamoDBClient {
  return createDynamoDBClient({
    region: config.region,
    ...(config.credentials ? { credentials: config.credentials } : {}),
  });
}

/** Back-fills the event manifest from an enriched archive. See the module comment for the semantics. */
export async function populateEventManifest(options: PopulateOptions): Promise<PopulateSummary> {
  const config = parseDynamoDbStorageConfig(options.storageConfig);
  const secrets = [config.credentials?.accessKeyId, config.credentials?.secretAccessKey];
  // A dry run writes nothing; a client made here is closed here.
  const ownClient = options.dryRun || options.dynamodb ? undefined : dynamoClientFor(config);
  try {
    return await populate(options, config, options.dynamodb ?? ownClient);
  } catch (error) {
    // AWS errors may quote the access key id; keep both keys out of every message.
    if (error instanceof Error) {
      error.message = scrubText(error.message, secrets);
      if (error.stack) error.stack = scrubText(error.stack, secrets);
    }
    throw error;
  } finally {
    ownClient?.destroy();
  }
}

/** What a population works with, from its options and their defaults (checked once, before any work). */
interface PopulateSettings {
  since: Date | null;
  dryRun: boolean;
  concurrency: number;
  leaseMs: number;
  logger: Logger;
  storage: Storage;
  archive: string;
}

function populateSettings(options: PopulateOptions): PopulateSettings {
  parseIgluResolverConfig(options.resolverConfig);
  const since =
    options.since === undefined
      ? null
      : options.since instanceof Date
        ? options.since
        : parseSince(options.since);
  const concurrency = options.concurrency ?? DEFAULT_EVENT_MANIFEST_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError("concurrency must be a positive integer");
  return {
    since,
    dryRun: options.dryRun ?? false,
    concurrency,
    leaseMs: options.leaseMs ?? DEFAULT_POPULATOR_LEASE_MS,
    logger: options.logger ?? silentLogger,
    storage: options.storage ?? createStorage(),
    archive: asFolder(normalizeUri(options.archive)),
  };
}

/** The runs at or after `since`, each with its data files; runs with archived data are skipped and counted. */
async function selectRuns(settings: PopulateSettings, summary: PopulateSummary): Promise<RunPlan[]> {
  const { since, storage, logger } = settings;
  const allRuns = await listRuns(storage, settings.archive);
  const selected = since ? allRuns.filter((run) => run.timestamp.getTime() >= since.getTime()) : allRuns;
  summary.runs.found = allRuns.length;
  summary.runs.selected = selected.length;
  const plans = await planRuns(storage, selected);
  for (const plan of plans.filter((p) => p.archived)) {
    summary.runs.archived++;
    logger.warn({ run: plan.run.uri }, "skipping run: some of its files are in GLACIER or DEEP_ARCHIVE");
  }
  return plans.filter((plan) => !plan.archived);
}

/** The event manifest (created on demand) and the populator's runs table; neither on a dry run. */
async function openTables(
  client: DynamoDBClient | undefined,
  config: DynamoDbStorageConfig,
  settings: PopulateSettings,
  runsTableName: string,
): Promise<{ manifest?: EventManifest; runsTable?: RunManifests }> {
  if (settings.dryRun || !client) return {};
  const { logger } = settings;
  const manifest = new EventManifest(client, config.table, { logger });
  if (!(await manifest.exists())) {
    logger.info({ table: config.table }, "creating the event manifest table (on-demand)");
    await manifest.create();
  }
  const runsTable = new RunManifests(client, runsTableName);
  await runsTable.create();
  return { manifest, runsTable };
}

/** One population's runs: reads them, writes their events and keeps `summary` (its progress) up to date. */
class Population {
  constructor(
    private readonly settings: PopulateSettings,
    private readonly summary: PopulateSummary,
    private readonly tables: { manifest?: EventManifest; runsTable?: RunManifests },
    private readonly signal: AbortSignal | undefined,
    private readonly report: () => void,
  ) {}

  /**
   * Oldest first. A run held by another (or a crashed) populator is put back and retried after the others,
   * waiting until it is finished or its lease expires.
   */
  async processAll(runs: RunPlan[]): Promise<void> {
    const { runsTable } = this.tables;
    const { leaseMs, logger } = this.settings;
    let pending = runs;
    while (pending.length > 0) {
      const held: RunPlan[] = [];
      for (const plan of pending) {
        if (this.signal?.aborted) throw new PopulateInterruptedError(this.settings.archive);
        if (!runsTable) {
          await this.processRun(plan, null);
          continue;
        }
        // One request for a run to do; a refused claim is a completed run or one another populator holds.
        const lease = await runsTable.claim(plan.run.uri, { leaseMs });
        if (lease) {
          await this.processRun(plan, lease);
          continue;
        }
        if ((await runsTable.status(plan.run.uri))?.state === "completed") {
          this.summary.runs.alreadyDone++;
          this.report();
        } else held.push(plan);
      }
      if (held.length > 0 && held.length === pending.length) {
        logger.info({ runs: held.map((p) => p.run.uri) }, "waiting for runs claimed by another populator");
        const pause = Math.min(2000, Math.max(100, Math.floor(leaseMs / 10)));
        await sleep(pause, undefined, this.signal ? { signal: this.signal } : {}).catch(() => undefined);
      }
      pending = held;
    }
  }

  /** Reads one run under its lease (renewed every third of it), then records it completed or failed. */
  private async processRun(plan: RunPlan, lease: RunLease | null): Promise<void> {
    const { runsTable } = this.tables;
    const { leaseMs, logger } = this.settings;
    let current = lease;
    const renewal =
      current && runsTable
        ? setInterval(
            () => {
              if (!current || !runsTable) return;
              runsTable.renew(plan.run.uri, current, { leaseMs }).then(
                (renewed) => {
                  current = renewed;
                },
                (error: unknown) => {
                  // Keep going: writes are idempotent, and `complete` below tells whether the run was taken over.
                  logger.warn({ run: plan.run.uri, error: String(error) }, "could not renew the run's lease");
                },
              );
            },
            Math.max(1, Math.floor(leaseMs / 3)),
          )
        : undefined;
    renewal?.unref();
    try {
      await this.readRun(plan);
    } catch (error) {
      clearInterval(renewal);
      if (current && runsTable) await runsTable.fail(plan.run.uri, current, error).catch(() => undefined);
      throw error;
    }
    clearInterval(renewal);
    if (current && runsTable) {
      try {
        await runsTable.complete(plan.run.uri, current);
      } catch (error) {
        if (!(error instanceof RunLeaseLostError)) throw error;
        logger.warn(
          { run: plan.run.uri },
          "run finished after its lease was taken over; the other populator records it",
        );
      }
    }
    this.summary.runs.processed++;
    this.report();
    logger.info({ run: plan.run.uri, files: plan.files.length }, "run done");
  }

  /** Streams a run's files line by line, writing each event with at most `concurrency` writes waiting. */
  private async readRun(plan: RunPlan): Promise<void> {
    const { summary } = this;
    const { manifest } = this.tables;
    const { concurrency, logger, storage } = this.settings;
    const queue = new PQueue({ concurrency });
    let failure: unknown;
    // Drop queued writes, let those in flight land, then give up on the run.
    const abandon = async (error: unknown): Promise<never> => {
      queue.clear();
      await queue.onIdle();
      throw error;
    };
    for (const file of plan.files) {
      summary.files++;
      let lineNumber = 0;
      for await (const line of fileLines(storage, file.uri, (bytes) => {
        summary.bytes += bytes;
      })) {
        lineNumber++;
        if (this.signal?.aborted) await abandon(new PopulateInterruptedError(plan.run.uri));
        if (line === "") continue;
        summary.lines++;
        if (summary.lines % PROGRESS_EVERY_LINES === 0) this.report();
        const parsed = parseManifestLine(line);
        if ("reason" in parsed) {
          summary.badLines++;
          if (summary.badLineSamples.length < MAX_BAD_LINE_SAMPLES) {
            summary.badLineSamples.push({ file: file.uri, line: lineNumber, reason: parsed.reason });
            logger.warn({ file: file.uri, line: lineNumber, reason: parsed.reason }, "bad line skipped");
          }
          continue;
        }
        summary.events++;
        if (!manifest) continue;
        if (failure) await abandon(failure);
        // Back-pressure: never hold more than `concurrency` waiting writes beyond those in flight.
        await queue.onSizeLessThan(concurrency);
        queue
          .add(() => manifest.record(parsed.eventId, parsed.fingerprint, parsed.etlTime))
          .then((outcome) => this.count(outcome))
          .catch((error: unknown) => {
            failure ??= error;
          });
      }
      await queue.onIdle();
      if (failure) await abandon(failure);
    }
  }

  private count(outcome: RecordOutcome): void {
    if (outcome === "new") this.summary.written++;
    else if (outcome === "same-etl-time") this.summary.alreadyPresent++;
    else this.summary.duplicates++;
  }
}

async function populate(
  options: PopulateOptions,
  config: DynamoDbStorageConfig,
  client: DynamoDBClient | undefined,
): Promise<PopulateSummary> {
  const started = Date.now();
  const settings = populateSettings(options);
  const summary = emptySummary(settings.archive, config.table, settings.since, settings.dryRun);
  const readable = await selectRuns(settings, summary);
  const runsTotal = readable.length;
  const bytesTotal = readable.reduce((sum, plan) => sum + plan.files.reduce((s, f) => s + f.size, 0), 0);
  // Progress is a view of the summary's counters.
  const report = () =>
    options.onProgress?.({
      runsTotal,
      runsDone: summary.runs.processed + summary.runs.alreadyDone,
      bytesTotal,
      bytesRead: summary.bytes,
      lines: summary.lines,
      written: summary.written,
      alreadyPresent: summary.alreadyPresent + summary.duplicates,
      badLines: summary.badLines,
    });
  report();

  const tables = await openTables(client, config, settings, summary.runsTable);
  await new Population(settings, summary, tables, options.signal, report).processAll(readable);

  summary.durationMs = Date.now() - started;
  summary.eventsPerSecond =
    summary.durationMs > 0 ? Math.round((summary.events * 1000) / summary.durationMs) : 0;
  report();
  return summary;
}
