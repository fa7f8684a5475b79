/**
 * Deterministic DynamoDB "Export to S3" exports, for tests, benchmarks and demos: the folder layout,
 * manifests, gzip'd DYNAMODB_JSON data files and MD5 checksums AWS writes
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html), with items of
 * a few shapes (sparse attributes, sets, maps, lists, binary, numbers beyond Int64), and incremental exports
 * of inserts, updates and deletes on top of a full one (one line per changed item, its latest state, as AWS
 * compacts them: `Metadata.WriteTimestampMicros`, `Keys`, `NewImage` and/or `OldImage`; see the incremental
 * export section of the same page and
 * https://aws.amazon.com/blogs/database/introducing-incremental-export-from-amazon-dynamodb-to-amazon-s3/).
 *
 * Items are built as JavaScript values and marshalled by `@aws-sdk/util-dynamodb`, so a test can compute
 * what a reader should produce from the values themselves.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall, type NativeAttributeValue, NumberValueImpl } from "@aws-sdk/util-dynamodb";
import { Decimal, IonTypes, makeTextWriter, type Writer } from "ion-js";
import { seededRandom } from "../samples/random.js";
import type { Storage } from "../storage/types.js";
import { asFolder, isS3Uri, joinUri, normalizeUri, parseUri } from "../storage/uri.js";

export type NativeItem = Record<string, NativeAttributeValue>;

/** The table's state: items by key (`pk|sk`). */
export type TableState = Map<string, NativeItem>;

export interface GeneratedDataFile {
  uri: string;
  /** The items of the file, in line order. */
  items: NativeItem[];
}

export interface GeneratedExport {
  folder: string;
  exportId: string;
  exportArn: string;
  files: GeneratedDataFile[];
  /** The table after this export's point in time. */
  table: TableState;
}

export interface GeneratedIncrementalExport extends GeneratedExport {
  /** One entry per changed key, as written (the latest change in the window). */
  changes: Array<{
    key: string;
    kind: "insert" | "update" | "delete";
    writeTimestampMicros: bigint;
    newImage: NativeItem | null;
    oldImage: NativeItem | null;
  }>;
}

interface CommonOptions {
  /** The export prefix: the export goes to `{baseUri}AWSDynamoDB/{exportId}/`. */
  baseUri: string;
  /** DYNAMODB_JSON (default, `*.json.gz`) or ION (`*.ion.gz`, one Ion struct per line). */
  outputFormat?: ExportFormat;
  seed?: number;
  fileCount?: number;
  tableName?: string;
}

export interface FullExportOptions extends CommonOptions {
  itemCount: number;
  /** Default 2024-06-01T00:00:00Z. */
  exportTime?: Date;
  /** Write `_started` and the data files only, as an export still IN_PROGRESS looks. */
  inProgress?: boolean;
}

export interface IncrementalExportOptions extends CommonOptions {
  /** The table before the window (a full export's or an earlier incremental's `table`). */
  previous: TableState;
  exportFromTime: Date;
  exportToTime: Date;
  inserts: number;
  updates: number;
  deletes: number;
  outputView?: "NEW_AND_OLD_IMAGES" | "NEW_IMAGE";
}

export type ExportFormat = "DYNAMODB_JSON" | "ION";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const WORDS = ["amber", "birch", "cedar", "delta", "ember", "fjord", "gale", "harbor", "iris", "juniper"];

type Random = () => number;
const pick = <T>(random: Random, values: ArrayLike<T>): T => values[Math.floor(random() * values.length)]!;
const int = (random: Random, low: number, high: number) => low + Math.floor(random() * (high - low + 1));
const bytes = (random: Random, length: number) => Uint8Array.from({ length }, () => int(random, 0, 255));

export const itemKey = (item: NativeItem): string => `${item.pk}|${item.sk}`;

/**
 * One item of the sample table. Three shapes share `pk`, `sk`, `kind` and `version`; the other attributes are
 * the shape's own (sparse across the table), some only on some items of the shape.
 */
export function sampleItem(random: Random, index: number): NativeItem {
  switch (index % 3) {
    case 0: {
      const item: NativeItem = {
        pk: `CUSTOMER#${index}`,
        sk: "PROFILE",
        kind: "customer",
        version: 1,
        name: `${pick(random, WORDS)} ${pick(random, WORDS)}`,
        age: int(random, 18, 90),
        balance: int(random, -50_000, 5_000_000) / 100,
        active: random() < 0.7,
        tags: new Set(Array.from({ length: int(random, 1, 3) }, () => pick(random, WORDS))),
        address: {
          city: pick(random, WORDS),
          zip: String(int(random, 10_000, 99_999)),
          geo: {
            lat: int(random, -9_000_000, 9_000_000) / 100_000,
            lon: int(random, -18_000_000, 18_000_000) / 100_000,
          },
        },
      };
      if (random() < 0.5) item.nickname = pick(random, WORDS);
      if (random() < 0.3) item.avatar = bytes(random, int(random, 1, 12));
      if (random() < 0.1) item.notes = null;
      return item;
    }
    case 1: {
      const lines = Array.from({ length: int(random, 0, 3) }, () => ({
        sku: `SKU-${int(random, 1, 999)}`,
        qty: int(random, 1, 5),
        price: int(random, 1, 100_000) / 100,
      }));
      const item: NativeItem = {
        pk: `CUSTOMER#${index - 1}`,
        sk: `ORDER#${index}`,
        kind: "order",
        version: 1,
        total: int(random, 1, 10_000_000) / 100,
        quantity: lines.reduce((sum, line) => sum + line.qty, 0),
        lines,
        // Beyond 2^53: exact only as Int64.
        externalId: 9_007_199_254_740_993n + BigInt(index),
        createdAt: new Date(Date.UTC(2024, 0, 1) + index * 60_000).toISOString(),
      };
      if (random() < 0.6)
        item.luckyNumbers = new Set(Array.from({ length: int(random, 1, 4) }, () => int(random, -99, 999)));
      if (random() < 0.4) item.coupons = new Set([`C${int(random, 100, 999)}`]);
      return item;
    }
    default: {
      const item: NativeItem = {
        pk: `DEVICE#${index}`,
        sk: `EVENT#${index}`,
        kind: "event",
        version: 1,
        checksums: new Set([bytes(random, 4), bytes(random, 6)]),
        labels: Array.from({ length: int(random, 0, 4) }, () => pick(random, WORDS)),
        reading: int(random, -1_000_000, 1_000_000) / 1000,
      };
      // 32 significant digits (DynamoDB allows 38): exact neither as Int64 nor as a double.
      if (random() < 0.5)
        item.ledger = NumberValueImpl.from(
          `${int(random, 1, 9)}2345678901234567890123456789.${int(random, 100, 999)}`,
        );
      return item;
    }
  }
}

function randomName(random: Random, length: number): string {
  return Array.from({ length }, () => pick(random, BASE32)).join("");
}

function exportIdFor(random: Random, time: Date): string {
  const hex = Array.from({ length: 8 }, () => pick(random, "0123456789abcdef")).join("");
  return `${String(time.getTime()).padStart(14, "0")}-${hex}`;
}

/** An attribute map as one DYNAMODB_JSON value (binary as base64, as the export writes it). */
export function marshallItem(item: NativeItem): Record<string, AttributeValue> {
  return marshall(item, { removeUndefinedValues: true });
}

/** One line of an export: `{Item}`, or an incremental change's Metadata, Keys, NewImage and OldImage. */
type ExportRecord = Record<string, Record<string, AttributeValue>>;

function exportJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v,
  );
}

/**
 * One export record as the ION export writes it: `$ion_1_0 {Item:{...}}`, numbers as Ion ints and decimals,
 * binary as blobs, sets as lists annotated `$dynamodb_SS` / `$dynamodb_NS` / `$dynamodb_BS`.
 */
function ionLine(record: ExportRecord): string {
  const writer = makeTextWriter();
  writer.stepIn(IonTypes.STRUCT);
  for (const [name, attributes] of Object.entries(record)) {
    writer.writeFieldName(name);
    writeIonMap(writer, attributes);
  }
  writer.stepOut();
  writer.close();
  return `$ion_1_0 ${Buffer.from(writer.getBytes()).toString("utf8")}`;
}

function writeIonMap(writer: Writer, attributes: Record<string, AttributeValue>): void {
  writer.stepIn(IonTypes.STRUCT);
  for (const [name, value] of Object.entries(attributes)) {
    writer.writeFieldName(name);
    writeIonValue(writer, value);
  }
  writer.stepOut();
}

function writeIonNumber(writer: Writer, text: string): void {
  if (/^-?\d+$/.test(text)) writer.writeInt(BigInt(text));
  else writer.writeDecimal(new Decimal(text.replace(/e/i, "d")));
}

function writeIonValue(writer: Writer, value: AttributeValue): void {
  if (value.S !== undefined) writer.writeString(value.S);
  else if (value.N !== undefined) writeIonNumber(writer, value.N);
  else if (value.BOOL !== undefined) writer.writeBoolean(value.BOOL);
  else if (value.NULL) writer.writeNull(IonTypes.NULL);
  else if (value.B !== undefined) writer.writeBlob(value.B);
  else if (value.M !== undefined) writeIonMap(writer, value.M);
  else if (value.L !== undefined) {
    writer.stepIn(IonTypes.LIST);
    for (const element of value.L) writeIonValue(writer, element);
    writer.stepOut();
  } else {
    const [kind, elements] = value.SS
      ? (["SS", value.SS] as const)
      : value.NS
        ? (["NS", value.NS] as const)
        : (["BS", value.BS ?? []] as const);
    writer.setAnnotations([`$dynamodb_${kind}`]);
    writer.stepIn(IonTypes.LIST);
    for (const element of elements) {
      if (kind === "SS") writer.writeString(element as string);
      else if (kind === "NS") writeIonNumber(writer, element as string);
      else writer.writeBlob(element as Uint8Array);
    }
    writer.stepOut();
  }
}

const md5Base64 = (data: Buffer) => createHash("md5").update(data).digest("base64");

/** Where the export goes, and the bucket and key prefix its manifests name. */
function exportLocation(baseUri: string, exportId: string) {
  const base = asFolder(normalizeUri(baseUri));
  const parsed = isS3Uri(base) ? parseUri(base) : null;
  const s3Bucket = parsed?.scheme === "s3" ? parsed.bucket : "snaplake-generated-exports";
  const s3Prefix = parsed?.scheme === "s3" && parsed.key ? parsed.key.replace(/\/$/, "") : null;
  const exportKey = `${s3Prefix ? `${s3Prefix}/` : ""}AWSDynamoDB/${exportId}/`;
  return { folder: joinUri(base, `AWSDynamoDB/${exportId}/`), s3Bucket, s3Prefix, exportKey };
}

/**
 * Writes the files of one export: `_started`, data, then manifest-files.json and manifest-summary.json last.
 * Where, the table's name and the format come from the caller's options.
 */
async function writeExport(
  storage: Storage,
  random: Random,
  options: CommonOptions,
  input: {
    exportId: string;
    /** One export record per line, in DYNAMODB_JSON's form (rendered as `outputFormat` says). */
    lines: Array<{ fileIndex: number; record: ExportRecord; item: NativeItem }>;
    fileCount: number;
    /** startTime, endTime, then exportTime (full) or exportFromTime/exportToTime (incremental). */
    times: Record<string, string>;
    exportType: "FULL_EXPORT" | "INCREMENTAL_EXPORT";
    outputView?: string;
    inProgress?: boolean;
  },
): Promise<{ folder: string; exportArn: string; files: GeneratedDataFile[] }> {
  const outputFormat = options.outputFormat ?? "DYNAMODB_JSON";
  const { folder, s3Bucket, s3Prefix, exportKey } = exportLocation(options.baseUri, input.exportId);
  const tableArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${options.tableName ?? "SampleTable"}`;
  const exportArn = `${tableArn}/export/${input.exportId}`;
  await storage.put(joinUri(folder, "_started"), "");

  const extension = outputFormat === "ION" ? "ion.gz" : "json.gz";
  const names = Array.from({ length: input.fileCount }, () => `${randomName(random, 26)}.${extension}`);
  const render = outputFormat === "ION" ? ionLine : exportJson;
  const texts = input.lines.map((line) => render(line.record));
  const entries: string[] = [];
  const files: GeneratedDataFile[] = [];
  for (let fileIndex = 0; fileIndex < input.fileCount; fileIndex++) {
    const indexes = input.lines.flatMap((line, index) => (line.fileIndex === fileIndex ? [index] : []));
    const mine = indexes.map((index) => input.lines[index]!);
    const body = gzipSync(indexes.map((index) => `${texts[index]}\n`).join(""));
    const uri = joinUri(folder, `data/${names[fileIndex]}`);
    const put = await storage.put(uri, body, { contentType: "application/gzip" });
    files.push({ uri, items: mine.map((line) => line.item) });
    entries.push(
      JSON.stringify({
        itemCount: mine.length,
        md5Checksum: md5Base64(body),
        etag: put.etag,
        dataFileS3Key: `${exportKey}data/${names[fileIndex]}`,
      }),
    );
  }
  if (!input.inProgress) {
    await storage.put(joinUri(folder, "manifest-files.json"), `${entries.join("\n")}\n`);
    const { startTime, endTime, ...pointInTime } = input.times;
    // The fields in the order AWS writes them.
    const summary = {
      version: input.exportType === "INCREMENTAL_EXPORT" ? "2023-08-01" : "2020-06-30",
      exportArn,
      startTime,
      endTime,
      tableArn,
      tableId: "5d2b8a3e-6c1f-4e7a-9b0d-2f4c6e8a1b3d",
      ...pointInTime,
      s3Bucket,
      s3Prefix,
      s3SseAlgorithm: "AES256",
      s3SseKmsKeyId: null,
      manifestFilesS3Key: `${exportKey}manifest-files.json`,
      billedSizeBytes: texts.reduce((sum, text) => sum + text.length, 0),
      itemCount: input.lines.length,
      outputFormat,
      ...(input.outputView ? { outputView: input.outputView } : {}),
      exportType: input.exportType,
    };
    await storage.put(joinUri(folder, "manifest-summary.json"), `${JSON.stringify(summary, null, 3)}\n`);
  }
  return { folder, exportArn, files };
}

const iso = (time: Date) => time.toISOString();

/** A full export of `itemCount` sample items spread over `fileCount` data files (as partitions hash them). */
export async function generateDynamoDbExport(
  storage: Storage,
  options: FullExportOptions,
): Promise<GeneratedExport> {
  const random = seededRandom(options.seed ?? 1);
  const exportTime = options.exportTime ?? new Date(Date.UTC(2024, 5, 1));
  const fileCount = options.fileCount ?? 4;
  const exportId = exportIdFor(random, exportTime);
  const table: TableState = new Map();
  const lines = Array.from({ length: options.itemCount }, (_, index) => {
    const item = sampleItem(random, index);
    table.set(itemKey(item), item);
    return {
      fileIndex: Math.floor(random() * fileCount),
      record: { Item: marshallItem(item) },
      item,
    };
  });
  const written = await writeExport(storage, random, options, {
    exportId,
    lines,
    fileCount,
    inProgress: options.inProgress,
    times: {
      startTime: iso(exportTime),
      endTime: iso(new Date(exportTime.getTime() + 5 * 60_000)),
      exportTime: iso(exportTime),
    },
    exportType: "FULL_EXPORT",
  });
  return { ...written, exportId, table };
}

/** The largest item index in the table's keys, so inserted items get keys of their own. */
function highestIndex(table: TableState): number {
  let highest = 0;
  for (const key of table.keys()) {
    for (const digits of key.match(/\d+/g) ?? []) highest = Math.max(highest, Number(digits));
  }
  return highest;
}

/** A changed copy of an item: new values for a few attributes, `version` + 1. */
function updated(random: Random, item: NativeItem): NativeItem {
  const next: NativeItem = { ...item, version: (item.version as number) + 1 };
  if (item.kind === "customer") {
    next.balance = int(random, -50_000, 5_000_000) / 100;
    if (random() < 0.5) next.nickname = pick(random, WORDS);
    else delete next.nickname;
  } else if (item.kind === "order") {
    next.total = int(random, 1, 10_000_000) / 100;
  } else {
    next.reading = int(random, -1_000_000, 1_000_000) / 1000;
  }
  return next;
}

/**
 * An incremental export of `inserts` new items, `updates` changed ones and `deletes` removed ones on top of
 * `previous`: one line per changed key, with Keys, NewImage (unless deleted), OldImage (NEW_AND_OLD_IMAGES,
 * unless inserted) and Metadata.WriteTimestampMicros within the window.
 */
export async function generateDynamoDbIncrementalExport(
  storage: Storage,
  options: IncrementalExportOptions,
): Promise<GeneratedIncrementalExport> {
  const random = seededRandom(options.seed ?? 2);
  const outputView = options.outputView ?? "NEW_AND_OLD_IMAGES";
  const fileCount = options.fileCount ?? 2;
  const from = options.exportFromTime.getTime();
  const to = options.exportToTime.getTime();
  const exportId = exportIdFor(random, options.exportToTime);
  const table: TableState = new Map(options.previous);
  const keys = [...table.keys()];
  if (options.updates + options.deletes > keys.length) {
    throw new RangeError(`${options.updates} updates + ${options.deletes} deletes > ${keys.length} items`);
  }
  // A seeded shuffle picks distinct keys to change: one change per key, as AWS compacts the window.
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const changes: GeneratedIncrementalExport["changes"] = [];
  const micros = () =>
    BigInt(from + Math.floor(random() * (to - from))) * 1000n + BigInt(int(random, 0, 999));
  for (const key of keys.slice(0, options.updates)) {
    const oldImage = table.get(key)!;
    const newImage = updated(random, oldImage);
    table.set(key, newImage);
    changes.push({ key, kind: "update", writeTimestampMicros: micros(), newImage, oldImage });
  }
  for (const key of keys.slice(options.updates, options.updates + options.deletes)) {
    changes.push({
      key,
      kind: "delete",
      writeTimestampMicros: micros(),
      newImage: null,
      oldImage: table.get(key)!,
    });
    table.delete(key);
  }
  const firstNew = highestIndex(options.previous) + 1;
  for (let n = 0; n < options.inserts; n++) {
    const newImage = sampleItem(random, firstNew + n);
    table.set(itemKey(newImage), newImage);
    changes.push({
      key: itemKey(newImage),
      kind: "insert",
      writeTimestampMicros: micros(),
      newImage,
      oldImage: null,
    });
  }
  const lines = changes.map((change) => {
    const image = (change.newImage ?? change.oldImage)!;
    const line: ExportRecord = {
      Metadata: { WriteTimestampMicros: { N: change.writeTimestampMicros.toString() } },
      Keys: marshallItem({ pk: image.pk, sk: image.sk }),
    };
    if (change.newImage) line.NewImage = marshallItem(change.newImage);
    if (change.oldImage && outputView === "NEW_AND_OLD_IMAGES") line.OldImage = marshallItem(change.oldImage);
    return { fileIndex: Math.floor(random() * fileCount), record: line, item: image };
  });
  const written = await writeExport(storage, random, options, {
    exportId,
    lines,
    fileCount,
    times: {
      startTime: iso(new Date(to + 60_000)),
      endTime: iso(new Date(to + 6 * 60_000)),
      exportFromTime: iso(options.exportFromTime),
      exportToTime: iso(options.exportToTime),
    },
    outputView,
    exportType: "INCREMENTAL_EXPORT",
  });
  return { ...written, exportId, table, changes };
}
