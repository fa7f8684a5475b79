/**
 * Reads Snowplow enriched TSV (plain or gzip) into a typed nodejs-polars DataFrame, through polars' native
 * CSV reader, returning every rejected line as a BadRow instead of failing or dropping it.
 *
 * Design (measured against splitting one string column in polars, which was ~2× slower):
 *  1. index the lines in JavaScript (one memchr per line): where each starts and its length in bytes, for
 *     the field-count check and the raw text of bad lines;
 *  2. read the bytes, a slice of lines at a time (steps 2-4), as 131 string columns with a row index
 *     (quoting off, ragged lines tolerated); a line has exactly 131 fields iff its length = the fields'
 *     lengths + 130 tabs, all in bytes (vectorised);
 *  3. cast vectorised (strict=false): a value that is non-empty but casts to null is an error;
 *     timestamps also run SCALAR_PATTERNS.timestamp (polars alone accepts "2024-1-2" or 10 fraction digits);
 *  4. validate each distinct non-empty JSON cell in JavaScript (the only per-cell JS work; the async read
 *     runs it while polars runs step 3);
 *  5. word the errors of the (few) rejected lines with the shared per-line rules in rules.ts.
 *
 * Line accounting (good + bad = lines, exactly): lines are separated by "\n"; a final "\n" ends the last
 * line rather than starting an empty one ("a\n" is 1 line, "a\n\n" is 2, the second blank); "\r\n" is
 * accepted (the "\r" is dropped); a blank line anywhere else is a bad row ("not_tsv"); empty input is 0 lines.
 */
import { isUtf8 } from "node:buffer";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DataFrame, DataType, Expr, LazyDataFrame } from "nodejs-polars";
import pl from "nodejs-polars";
import onetime from "onetime";
import { inflateIfGzip, inflateIfGzipSync } from "../compression.js";
import { SnaplakeError } from "../errors.js";
import type { FieldError } from "./errors.js";
import { ENRICHED_FIELD_COUNT, ENRICHED_FIELDS, type EnrichedFieldType } from "./fields.js";
import {
  parseJsonColumn,
  REQUIRED_FIELDS,
  SCALAR_PATTERNS,
  type SelfDescribingEntry,
  splitEnrichedLine,
  validateEnrichedFields,
} from "./rules.js";
import { cutAtLineEnds } from "./text-lines.js";

/** A rejected input line, ready to be written as one JSON line. */
export interface BadRow {
  /** File URI as given by the caller. */
  source: string;
  /** 1-based line number in the (decompressed) input. */
  line: number;
  /** The line's text without its line ending. */
  raw: string;
  errors: FieldError[];
}

export interface ReadEnrichedOptions {
  /** File URI used in bad rows and error messages. */
  source: string;
  /** Add one JSON-text column per context / unstruct schema key (contexts_com_acme_checkout_step_2, …). */
  shred?: boolean;
  /** In-batch natural de-duplication: same event_id + event_fingerprint keep the earliest etl_tstamp. */
  dedupe?: boolean;
  /** Keep the 1-based input line number as a `line_number` (UInt32) column. */
  lineNumbers?: boolean;
  /**
   * Bytes of text split, typed and checked at a time (default 48 MiB; a longer line is read alone). The
   * result does not depend on it; a lower value lowers the peak memory of one read.
   */
  sliceBytes?: number;
}

export interface ReadStats {
  lines: number;
  good: number;
  bad: number;
  /** Rows removed by `dedupe` (0 without it). `events.height === good - duplicates`. */
  duplicates: number;
}

export interface ReadEnrichedResult {
  events: DataFrame;
  badRows: BadRow[];
  stats: ReadStats;
}

/** The input could not be read at all (e.g. a broken gzip stream); bad LINES never throw. */
export class EnrichedReadError extends SnaplakeError {
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super("ENRICHED_READ_FAILED", `cannot read enriched events from ${source}: ${reason}`, options);
  }
}

const JSON_COLUMNS = ["contexts", "derived_contexts", "unstruct_event"] as const;
type JsonColumn = (typeof JSON_COLUMNS)[number];

const TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.f";
const LINE_NUMBER = "line_number";
const BAD = "__bad";
const LINE_BYTES = "__line_bytes";
const FIELD_BYTES_PREFIX = "__bytes_";

function polarsType(type: EnrichedFieldType): DataType {
  switch (type) {
    case "int":
      return pl.Int32;
    case "double":
      return pl.Float64;
    case "boolean":
      return pl.Bool;
    case "timestamp":
      return pl.Datetime("ms", "UTC");
    default:
      return pl.String;
  }
}

/** The typed schema of `events` (without shredded or line-number columns). */
export function enrichedPolarsSchema(): Record<string, DataType> {
  return Object.fromEntries(ENRICHED_FIELDS.map((field) => [field.name, polarsType(field.type)]));
}

/** Plain bytes: gzip (recognised by its magic bytes, whatever the file is called) is inflated. */
function decompress(input: Buffer, source: string): Buffer {
  try {
    return inflateIfGzipSync(input);
  } catch (cause) {
    throw corruptGzip(source, cause);
  }
}

function corruptGzip(source: string, cause: unknown): EnrichedReadError {
  return new EnrichedReadError(source, `gzip data is corrupt (${(cause as Error).message})`, { cause });
}

/**
 * The lines of the input pieces as polars splits them, numbered across the pieces: line i is
 * `texts[k][starts[i], starts[i] + byteLengths[i])` for the piece k holding it (firstLines[k] <= i).
 */
interface LineIndex {
  texts: Buffer[];
  /** The 0-based index of each piece's first line. */
  firstLines: number[];
  /** Each piece's text is valid UTF-8. */
  utf8: boolean[];
  /** Offsets within the line's piece. */
  starts: number[];
  /** Without the "\n" and a "\r" before it (polars drops both). */
  byteLengths: Uint32Array;
  /** 0-based indexes of the lines that are not valid UTF-8. */
  invalidUtf8: Set<number>;
}

/**
 * Lines end at "\n"; a final "\n" ends the last line rather than starting an empty one, and the end of a
 * piece ends its last line. Each line's UTF-8 is checked only when its piece is not valid UTF-8.
 */
function indexLines(texts: Buffer[]): LineIndex {
  const starts: number[] = [];
  const lengths: number[] = [];
  const firstLines: number[] = [];
  const invalidUtf8 = new Set<number>();
  const utf8 = texts.map((text) => isUtf8(text));
  for (const [piece, text] of texts.entries()) {
    firstLines.push(starts.length);
    for (let start = 0; start < text.length; ) {
      const newline = text.indexOf(0x0a, start);
      const end = newline === -1 ? text.length : newline;
      const length = end > start && text[end - 1] === 0x0d ? end - 1 - start : end - start;
      if (!utf8[piece] && !isUtf8(text.subarray(start, start + length))) invalidUtf8.add(starts.length);
      starts.push(start);
      lengths.push(length);
      start = end + 1;
    }
  }
  return { texts, firstLines, utf8, starts, byteLengths: Uint32Array.from(lengths), invalidUtf8 };
}

/** Consecutive parts of the line index read together: parts [firstPart, endPart), lines [firstLine, endLine). */
interface Slice {
  firstPart: number;
  endPart: number;
  firstLine: number;
  endLine: number;
}

/** The parts grouped, in order, into slices of at most `maxBytes` (a larger part is a slice of its own). */
function slicesOf(lines: LineIndex, maxBytes: number): Slice[] {
  const partCount = lines.texts.length;
  const firstLineOf = (part: number) =>
    part < partCount ? (lines.firstLines[part] as number) : lines.starts.length;
  const slice = (firstPart: number, endPart: number): Slice => ({
    firstPart,
    endPart,
    firstLine: firstLineOf(firstPart),
    endLine: firstLineOf(endPart),
  });
  const slices: Slice[] = [];
  let first = 0;
  let bytes = 0;
  for (let part = 0; part < partCount; part++) {
    const length = (lines.texts[part] as Buffer).length;
    if (part > first && bytes + length > maxBytes) {
      slices.push(slice(first, part));
      first = part;
      bytes = 0;
    }
    bytes += length;
  }
  slices.push(slice(first, partCount));
  return slices;
}

/** Line `row` (0-based) as text; invalid UTF-8 becomes U+FFFD, as in polars' lossy reading. */
function lineText(lines: LineIndex, row: number): string {
  let piece = 0;
  while (piece + 1 < lines.firstLines.length && (lines.firstLines[piece + 1] as number) <= row) piece++;
  const start = lines.starts[row] as number;
  return (lines.texts[piece] as Buffer).toString("utf8", start, start + (lines.byteLengths[row] as number));
}

/** The names of the fields of one type, in field order. */
function namesOf(type: EnrichedFieldType): string[] {
  return ENRICHED_FIELDS.filter((field) => field.type === type).map((field) => field.name);
}

/** Raw text to typed values, for every column of `names` at once (one multi-column expression). */
function typedValues(names: string[], type: EnrichedFieldType): Expr {
  const raw = pl.col(names);
  switch (type) {
    case "int":
      return raw.cast(pl.Int32, false);
    case "double":
      return raw.cast(pl.Float64, false);
    case "boolean":
      return raw.eq(pl.lit("1"));
    case "timestamp":
      return raw.str
        .strptime(pl.Datetime("ms"), TIMESTAMP_FORMAT)
        .dt.replaceTimeZone("UTC")
        .cast(pl.Datetime("ms", "UTC"));
    default:
      return raw;
  }
}

/**
 * "Some column of `names` holds an invalid value", from the raw text. polars' strict=false casts accept
 * exactly SCALAR_PATTERNS.int / .double (tests check the agreement), so a present value that casts to null
 * is invalid; Int32 overflow also gives null. Timestamps also need the pattern: polars alone accepts
 * "2024-1-2" or 10 fraction digits. (Within one expression, polars expands `pl.col(names)` column by
 * column, so "present" and "invalid" always talk about the same column.)
 */
function anyInvalid(names: string[], type: EnrichedFieldType): Expr | undefined {
  if (names.length === 0) return undefined;
  const raw = pl.col(names);
  const present = raw.isNotNull();
  switch (type) {
    case "int":
      return pl.anyHorizontal(present.and(typedValues(names, type).isNull()));
    case "timestamp": {
      const invalid = raw.str.contains(SCALAR_PATTERNS.timestamp).not().or(typedValues(names, type).isNull());
      return pl.anyHorizontal(present.and(invalid));
    }
    case "double": {
      const value = typedValues(names, type);
      return pl.anyHorizontal(present.and(value.isFinite().not().or(value.isNull())));
    }
    case "boolean":
      return pl.anyHorizontal(present.and(raw.isIn(["0", "1"]).not()));
    default:
      return undefined;
  }
}

/**
 * Adds each field's length in bytes (`FIELD_BYTES_PREFIX` + name), through polars SQL: OCTET_LENGTH reads
 * the length stored with each string, and nodejs-polars has no expression for it (`str.lengths` counts
 * characters, which means reading every byte).
 */
function withFieldBytes(fields: LazyDataFrame): LazyDataFrame {
  const lengths = ENRICHED_FIELDS.map((f) => `OCTET_LENGTH("${f.name}") AS "${FIELD_BYTES_PREFIX}${f.name}"`);
  return pl.SQLContext({ fields }).execute(`SELECT *, ${lengths.join(", ")} FROM fields`);
}

/**
 * Exactly 131 fields, vectorised and cheaper than a regex: with ragged lines truncated, a line is as long as
 * its 131 fields plus 130 tabs only when it has exactly 131 fields (fewer: fewer tabs; more: extra text).
 */
function fieldCountOk(): Expr {
  const fieldBytes = pl.sumHorizontal(pl.col(ENRICHED_FIELDS.map((f) => FIELD_BYTES_PREFIX + f.name)));
  const expected = fieldBytes.cast(pl.Int64).add(pl.lit(ENRICHED_FIELD_COUNT - 1).cast(pl.Int64));
  return pl.col(LINE_BYTES).cast(pl.Int64).eq(expected).fillNull(false);
}

const SCALAR_TYPES = ["int", "double", "boolean", "timestamp"] as const;

/**
 * One select: line number, typed columns and the line's "bad" flag. Each type's columns share
 * one multi-column expression: building a nodejs-polars Expr costs ~1 ms in JS, so a plan of one
 * expression per column cost seconds. Built once per process, since it does not depend on the data (as
 * every expression `onetime` builds here: each Expr is a JS object of a few hundred closures, up to
 * ~0.5 MB of garbage, and building them per batch was a fifth of the main thread's allocations).
 */
const checkPlan = onetime((): Expr[] => {
  const flags: Expr[] = [fieldCountOk().not()];
  const plan: Expr[] = [pl.col(LINE_NUMBER)];
  const other = ENRICHED_FIELDS.filter((f) => !(SCALAR_TYPES as readonly string[]).includes(f.type));
  plan.push(pl.col(other.map((f) => f.name)));
  for (const type of SCALAR_TYPES) {
    const names = namesOf(type);
    plan.push(typedValues(names, type));
    const invalid = anyInvalid(names, type);
    if (invalid) flags.push(invalid);
  }
  // Required and empty; an invalid required value is already flagged by its type's check.
  flags.push(pl.anyHorizontal(pl.col([...REQUIRED_FIELDS]).isNull()));
  plan.push(pl.anyHorizontal(flags).fillNull(false).alias(BAD));
  return plan;
});

/** Distinct JSON cells validated at once: few enough that their strings die young. */
const JSON_CELLS_AT_ONCE = 1024;

interface JsonValidation {
  /** Rows (0-based) with a JSON error. */
  invalidRows: Set<number>;
  /** With `keepEntries`: each row's parsed entries, per JSON column. */
  entries: Map<JsonColumn, Array<SelfDescribingEntry[] | undefined>>;
}

/** Each JSON column's distinct non-null cells. */
const distinctCells = onetime(
  () =>
    Object.fromEntries(JSON_COLUMNS.map((c) => [c, pl.col(c).dropNulls().unique()])) as Record<
      JsonColumn,
      Expr
    >,
);

/**
 * Work that needs polars to collect frames along the way, written once as a generator that yields each lazy
 * frame to collect: `collectedSync` runs it on this thread, `collectedAsync` on polars' threads (the event
 * loop stays free for the other tasks of the process meanwhile).
 */
type PolarsWork<T> = Generator<LazyDataFrame, T, DataFrame>;

function collectedSync<T>(work: PolarsWork<T>): T {
  let step = work.next();
  while (!step.done) step = work.next(step.value.collectSync());
  return step.value;
}

async function collectedAsync<T>(work: PolarsWork<T>): Promise<T> {
  let step = work.next();
  while (!step.done) step = work.next(await step.value.collect());
  return step.value;
}

function emptyJsonValidation(): JsonValidation {
  return { invalidRows: new Set(), entries: new Map(JSON_COLUMNS.map((column) => [column, []])) };
}

/**
 * JSON-column validation in JS, once per distinct non-empty cell: derived contexts and unstruct events
 * repeat a lot, and every JSON.parse allocates. Works on the raw string columns, so it can run while
 * polars types the same rows. `frame`'s rows are the rows from `firstRow` on; what it finds is added to
 * `into`.
 */
function* validateJsonColumns(
  frame: DataFrame,
  keepEntries: boolean,
  into: JsonValidation,
  firstRow: number,
): PolarsWork<void> {
  const invalidByColumn: Expr[] = [];
  const errors: FieldError[] = [];
  for (const column of JSON_COLUMNS) {
    const type = column === "unstruct_event" ? "unstruct" : "contexts";
    const parsedByValue = new Map<string, SelfDescribingEntry[] | undefined>();
    const invalidValues: string[] = [];
    const distinct = (yield frame.lazy().select(distinctCells()[column])).getColumn(column);
    // 1,024 cells at a time: all the distinct cells at once (~50 MB of strings a batch) lived through several
    // young-generation collections, each copying them all (GC was the main thread's largest cost).
    for (let offset = 0; offset < distinct.length; offset += JSON_CELLS_AT_ONCE) {
      for (const value of distinct.slice(offset, JSON_CELLS_AT_ONCE).toArray() as string[]) {
        errors.length = 0;
        const result = parseJsonColumn(column, type, value, errors);
        if (errors.length > 0) invalidValues.push(value);
        else if (keepEntries) parsedByValue.set(value, result);
      }
    }
    if (invalidValues.length > 0) invalidByColumn.push(pl.col(column).isIn(invalidValues));
    if (keepEntries) {
      const entries = into.entries.get(column) as Array<SelfDescribingEntry[] | undefined>;
      for (const value of frame.getColumn(column).toArray() as Array<string | null>) {
        entries.push(value == null ? undefined : parsedByValue.get(value));
      }
    }
  }
  if (invalidByColumn.length > 0) {
    const invalid = yield frame.lazy().select(pl.anyHorizontal(invalidByColumn).fillNull(false).alias(BAD));
    const flags = invalid.getColumn(BAD).toArray();
    for (let row = 0; row < flags.length; row++) if (flags[row]) into.invalidRows.add(firstRow + row);
  }
}

/** One JSON-text column per shredded key: arrays of data for contexts (both columns), the data object for unstruct. */
function shreddedColumns(
  entries: Map<JsonColumn, Array<SelfDescribingEntry[] | undefined>>,
  goodRows: number[],
): Array<ReturnType<typeof pl.Series>> {
  const grouped = new Map<string, unknown[][]>(); // key → per good row, list of data (unstruct: one item)
  goodRows.forEach((row, out) => {
    for (const column of JSON_COLUMNS) {
      const cell = entries.get(column)?.[row];
      if (!cell) continue;
      for (const entry of cell) {
        let perRow = grouped.get(entry.key);
        if (!perRow) {
          perRow = new Array(goodRows.length);
          grouped.set(entry.key, perRow);
        }
        const items = perRow[out];
        // Same key in contexts and derived_contexts: concatenated, as in transformEnrichedEvent.
        if (items) items.push(entry.data);
        else perRow[out] = [entry.data];
      }
    }
  });
  return [...grouped.keys()].sort().map((key) => {
    const perRow = grouped.get(key) as unknown[][];
    const unstruct = key.startsWith("unstruct_event_");
    const texts = Array.from(perRow, (items) => (items ? JSON.stringify(unstruct ? items[0] : items) : null));
    return pl.Series(key, texts, pl.String);
  });
}

/** Rows to keep by natural de-duplication: per (event_id, event_fingerprint), the earliest etl_tstamp
 * (null etl_tstamp counts as latest), ties broken by line order. Rows without a fingerprint are kept. */
const dedupeExprs = onetime(() => {
  const etl = pl.col("etl_tstamp");
  const earliest = etl.min().over("event_id", "event_fingerprint");
  const isEarliest = etl.eq(earliest).or(etl.isNull().and(earliest.isNull())).fillNull(false);
  const firstEarliestLine = pl
    .when(isEarliest)
    .then(pl.col(LINE_NUMBER))
    .otherwise(pl.lit(null))
    .min()
    .over("event_id", "event_fingerprint");
  const keep = pl.col("event_fingerprint").isNull().or(pl.col(LINE_NUMBER).eq(firstEarliestLine));
  return {
    columns: pl.col([LINE_NUMBER, "event_id", "event_fingerprint", "etl_tstamp"]),
    candidates: pl.col("event_fingerprint").isNotNull().and(pl.col("event_id").isDuplicated()),
    removed: keep.not(),
  };
});

/**
 * Line numbers that natural de-duplication removes from the rows not in `badLines`. Only
 * rows whose event_id occurs more than once can share (event_id, fingerprint), so the window functions run
 * on those few rows, not on the whole batch, and only on the four columns they need.
 */
function* duplicateLines(frame: DataFrame, badLines: number[]): PolarsWork<number[]> {
  const { columns, candidates, removed } = dedupeExprs();
  // Collected one after the other: the window functions must only see the rows left by the previous filter.
  const good = yield frame.lazy().select(columns).filter(pl.col(LINE_NUMBER).isIn(badLines).not());
  const repeated = yield good.lazy().filter(candidates);
  if (repeated.height === 0) return [];
  const duplicates = yield repeated.lazy().filter(removed);
  return duplicates.getColumn(LINE_NUMBER).toArray() as number[];
}

/** No lines at all: the typed, empty frame. */
function emptyRead(): ReadEnrichedResult {
  const events = pl.DataFrame(
    Object.fromEntries(ENRICHED_FIELDS.map((f) => [f.name, pl.Series(f.name, [], polarsType(f.type))])),
  );
  return { events, badRows: [], stats: { lines: 0, good: 0, bad: 0, duplicates: 0 } };
}

/**
 * polars' CSV options for the raw split: 131 string columns, quoting off, ragged lines tolerated, each row
 * numbered by its 1-based line from `firstLine` on.
 */
function splitOptions(firstLine: number, utf8: boolean) {
  return {
    sep: "\t",
    hasHeader: false,
    quoteChar: undefined,
    encoding: (utf8 ? "utf8" : "utf8-lossy") as "utf8" | "utf8-lossy",
    schema: Object.fromEntries(ENRICHED_FIELDS.map((f) => [f.name, pl.String])),
    nullValues: "",
    truncateRaggedLines: true,
    rowIndexName: LINE_NUMBER,
    rowIndexOffset: firstLine + 1,
  };
}

/** Frames side by side, their chunks not copied into one: every later step reads chunked columns as they are. */
function stacked(frames: DataFrame[]): DataFrame {
  return frames.length === 1 ? frames[0]! : pl.concat(frames, { how: "vertical", rechunk: false });
}

/** A slice split into string fields, on this thread: one polars CSV read per part. */
function splitFields(lines: LineIndex, slice: Slice): DataFrame {
  const frames: DataFrame[] = [];
  for (let part = slice.firstPart; part < slice.endPart; part++) {
    const options = splitOptions(lines.firstLines[part] as number, lines.utf8[part] as boolean);
    frames.push(pl.readCSV(lines.texts[part] as Buffer, options));
  }
  return stacked(frames);
}

/**
 * The same split from a file: the slice's parts are written one after the other into a temporary file (a
 * "\n" ends a part that has none, as the end of a part ends its last line), without holding the event loop,
 * and polars reads the file. Measured on 200 MB, alternating in one process after a first read: reading the
 * file takes 480 ms of CPU (250 ms on the event loop), reading the same bytes from a Buffer 1,120 ms, and
 * scanning the file (`scanCSV().collect()`, off the event loop) 1,160 ms and 391 chunks per column instead
 * of 33.
 */
async function splitFieldsFromFile(lines: LineIndex, slice: Slice, folder: string): Promise<DataFrame> {
  const path = join(folder, "slice.tsv");
  const file = await open(path, "w");
  try {
    for (let part = slice.firstPart; part < slice.endPart; part++) {
      const text = lines.texts[part] as Buffer;
      await file.write(text);
      if (text[text.length - 1] !== 0x0a) await file.write(NEWLINE);
    }
  } finally {
    await file.close();
  }
  const utf8 = lines.utf8.slice(slice.firstPart, slice.endPart).every(Boolean);
  return pl.readCSV(path, splitOptions(slice.firstLine, utf8));
}

const NEWLINE = Buffer.from("\n");

/** The vectorised checks of a slice's split fields: the typed columns, and each line's "bad" flag. */
function checksOf(fields: DataFrame, lines: LineIndex, slice: Slice, source: string): LazyDataFrame {
  const lineCount = slice.endLine - slice.firstLine;
  if (lineCount !== fields.height) {
    throw new EnrichedReadError(source, `line split disagrees (${lineCount} lines vs ${fields.height} rows)`);
  }
  const byteLengths = lines.byteLengths.subarray(slice.firstLine, slice.endLine);
  const withLineBytes = fields.hstack([pl.Series(LINE_BYTES, byteLengths)], false) as unknown as DataFrame;
  return withFieldBytes(withLineBytes.lazy()).select(...checkPlan());
}

function splitFailed(source: string, cause: unknown): EnrichedReadError {
  return new EnrichedReadError(source, (cause as Error).message, { cause });
}

/**
 * Lines are split, typed and checked a slice of about this many bytes at a time: the memory of one slice's
 * intermediate columns (131 string columns, their lengths, the raw text of the typed ones) is freed before
 * the next slice needs as much, and reused instead of faulted in afresh (see allocator.ts). On 200 MB,
 * 48 MiB slices took 0.93x the time of one slice and 140 MB less peak RSS (BENCHMARKS.md, session 11).
 */
const SLICE_BYTES = 48 * 1024 * 1024;

/** The decompressed texts indexed as lines, in parts of at most `sliceBytes`; none when they are all empty. */
function linesOf(texts: Buffer[], sliceBytes: number): LineIndex | undefined {
  const parts = cutAtLineEnds(texts, sliceBytes); // never an empty part
  return parts.length === 0 ? undefined : indexLines(parts);
}

/**
 * Reads enriched events from a Buffer (plain or gzip), or from several read as one stream (their lines
 * numbered on from one to the next). Never throws for bad lines: they come back in `badRows`, and
 * `stats.good + stats.bad === stats.lines`.
 */
export function readEnrichedEvents(
  input: Buffer | readonly Buffer[],
  options: ReadEnrichedOptions,
): ReadEnrichedResult {
  const pieces = Buffer.isBuffer(input) ? [input] : input;
  const sliceBytes = options.sliceBytes ?? SLICE_BYTES;
  const lines = linesOf(
    pieces.map((piece) => decompress(piece, options.source)),
    sliceBytes,
  );
  if (!lines) return emptyRead();
  const checked: DataFrame[] = [];
  const json = emptyJsonValidation();
  for (const slice of slicesOf(lines, sliceBytes)) {
    let fields: DataFrame;
    try {
      fields = splitFields(lines, slice);
    } catch (cause) {
      throw splitFailed(options.source, cause);
    }
    const checks = checksOf(fields, lines, slice, options.source);
    collectedSync(validateJsonColumns(fields, options.shred === true, json, slice.firstLine));
    checked.push(checks.collectSync());
  }
  const finished = collectedSync(finishRead(stacked(checked), json, lines, options));
  return resultOf(finished, finished.events.collectSync());
}

/**
 * The same as `readEnrichedEvents`, with the polars work off the event loop: gunzip on libuv's threads, the
 * CSV split and the vectorised checks on polars' threads (the JSON checks run in JS meanwhile), so the
 * other tasks of the process go on.
 */
export async function readEnrichedEventsAsync(
  input: Buffer | readonly Buffer[],
  options: ReadEnrichedOptions,
): Promise<ReadEnrichedResult> {
  const pieces = Buffer.isBuffer(input) ? [input] : input;
  const plain = await Promise.all(pieces.map((piece) => inflateIfGzip(piece))).catch((cause: unknown) => {
    throw corruptGzip(options.source, cause);
  });
  const sliceBytes = options.sliceBytes ?? SLICE_BYTES;
  const lines = linesOf(plain, sliceBytes);
  if (!lines) return emptyRead();
  const checked: DataFrame[] = [];
  const json = emptyJsonValidation();
  const folder = await mkdtemp(join(tmpdir(), "snaplake-enriched-"));
  try {
    for (const slice of slicesOf(lines, sliceBytes)) {
      const fields = await splitFieldsFromFile(lines, slice, folder).catch((cause: unknown) => {
        throw splitFailed(options.source, cause);
      });
      const checks = checksOf(fields, lines, slice, options.source);
      const [sliceChecked] = await Promise.all([
        checks.collect(),
        // A microtask, so it starts once collect() has handed the checks to polars' threads.
        Promise.resolve().then(() =>
          collectedAsync(validateJsonColumns(fields, options.shred === true, json, slice.firstLine)),
        ),
      ]);
      checked.push(sliceChecked);
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  const finished = await collectedAsync(finishRead(stacked(checked), json, lines, options));
  return resultOf(finished, await finished.events.collect());
}

/** What is left to do once the checks have run: one lazy filter and select of the events, to collect. */
interface FinishedRead {
  events: LazyDataFrame;
  /** With `shred`: the shredded columns, one value per kept row, to add beside the events. */
  shredded: Array<ReturnType<typeof pl.Series>>;
  badRows: BadRow[];
  stats: ReadStats;
}

function* finishRead(
  checked: DataFrame,
  json: JsonValidation,
  lines: LineIndex,
  options: ReadEnrichedOptions,
): PolarsWork<FinishedRead> {
  const { source } = options;
  const { invalidRows: badJson, entries } = json;
  const flags = checked.getColumn(BAD).toArray() as boolean[];
  const goodRows: number[] = [];
  const badIndexes: number[] = [];
  for (let row = 0; row < flags.length; row++) {
    if (flags[row] || badJson.has(row) || lines.invalidUtf8.has(row)) badIndexes.push(row);
    else goodRows.push(row);
  }

  const badRows = badIndexes.map((row): BadRow => {
    const raw = lineText(lines, row);
    return { source, line: row + 1, raw, errors: describeBadLine(raw, lines.invalidUtf8.has(row)) };
  });

  // One filter (one copy of the batch) removes bad rows and duplicates.
  const badLines = badIndexes.map((row) => row + 1);
  const duplicates = options.dedupe && goodRows.length > 0 ? yield* duplicateLines(checked, badLines) : [];
  let events = checked.lazy();
  if (badLines.length + duplicates.length > 0) {
    events = events.filter(
      pl
        .col(LINE_NUMBER)
        .isIn([...badLines, ...duplicates])
        .not(),
    );
  }
  const columns = [...(options.lineNumbers ? [LINE_NUMBER] : []), ...ENRICHED_FIELDS.map((f) => f.name)];
  const removed = new Set(duplicates);
  const keptRows = removed.size === 0 ? goodRows : goodRows.filter((row) => !removed.has(row + 1));
  return {
    // One multi-column expression: nodejs-polars builds a JS object of ~1 ms per expression, 131 of them per
    // batch as column names (~120 ms and ~90 MB of garbage on the main thread).
    events: events.select(pl.col(columns)),
    shredded: options.shred ? shreddedColumns(entries, keptRows) : [],
    badRows,
    stats: {
      lines: checked.height,
      good: goodRows.length,
      bad: badRows.length,
      duplicates: duplicates.length,
    },
  };
}

/** The result, from the finished read's collected events. */
function resultOf(finished: FinishedRead, events: DataFrame): ReadEnrichedResult {
  const withShredded =
    finished.shredded.length > 0 ? (events.hstack(finished.shredded, false) as unknown as DataFrame) : events;
  return { events: withShredded, badRows: finished.badRows, stats: finished.stats };
}

/** The errors of a rejected line, worded by the shared per-line rules. */
function describeBadLine(raw: string, invalidUtf8: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (invalidUtf8) {
    errors.push({ code: "invalid_utf8", field: "line", value: raw, message: "line is not valid UTF-8" });
  }
  errors.push(...validateEnrichedFields(splitEnrichedLine(raw)).errors);
  if (errors.length === 0) {
    // The vectorised checks and the per-line rules must agree; if they ever do not, keep the row visible.
    errors.push({
      code: "field_count",
      field: "line",
      value: "",
      message:
        "rejected by the reader's vectorised checks but not by the per-line rules (please report this)",
    });
  }
  return errors;
}

/** Bad rows as JSON lines (one object per line, newline-terminated), e.g. for a `bad/` file. */
export function badRowsToNdjson(rows: readonly BadRow[]): string {
  let out = "";
  for (const row of rows) out += `${JSON.stringify(row)}\n`;
  return out;
}
