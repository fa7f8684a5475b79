/**
 * The dynamodb-export reader through step 1.3's own read context, on a local folder and on s3rver: a
 * generated export read file by file equals the generator's items (converted here, independently of the
 * reader), with the types of the issue's table; every bad input fails naming its file and line.
 */
import { gzipSync } from "node:zlib";
import { type NativeAttributeValue, NumberValueImpl } from "@aws-sdk/util-dynamodb";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDynamoDbExportManifest } from "../../src/models/dynamodb-export-manifest.js";
import type { SnapshotFileGroup } from "../../src/models/manifests.js";
import {
  DynamoDbColumnTypeError,
  DynamoDbExportLineError,
  type DynamoDbExportReaderOptions,
  type DynamoDbExportWarning,
  DynamoDbMixedTypesError,
  dynamoDbExportReader,
} from "../../src/readers/dynamodb-export.js";
import { createReadContext } from "../../src/steps/step-1-3-process-snapshot-group.js";
import type { Storage } from "../../src/storage/types.js";
import { CHANGE_DELETED_COLUMN, CHANGE_WRITE_TIME_COLUMN } from "../../src/table/delta/merge.js";
import {
  generateDynamoDbExport,
  generateDynamoDbIncrementalExport,
  type NativeItem,
} from "../../src/testing/dynamodb-export.js";
import { type BackendUnderTest, backendFactories } from "../storage/backends.js";

/** What each attribute of the sample table must become, from its JavaScript value (not from the reader). */
function expectedValue(value: NativeAttributeValue): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value instanceof Set) return [...value].map(expectedValue);
  if (Array.isArray(value)) return value.map(expectedValue);
  if (typeof value === "bigint") return Number(value); // compared exactly as text below
  if (value instanceof NumberValueImpl) return value.toString();
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expectedValue(v as NativeAttributeValue)]),
    );
  }
  return value;
}

const field = (name: string, dtype: pl.DataType) => new pl.Field(name, dtype);
const EXPECTED_TYPES: Record<string, pl.DataType> = {
  pk: pl.Utf8,
  sk: pl.Utf8,
  kind: pl.Utf8,
  name: pl.Utf8,
  nickname: pl.Utf8,
  createdAt: pl.Utf8,
  version: pl.Int64,
  age: pl.Int64,
  quantity: pl.Int64,
  externalId: pl.Int64,
  balance: pl.Float64,
  total: pl.Float64,
  reading: pl.Float64,
  ledger: pl.Utf8, // 32 significant digits: exact text
  active: pl.Bool,
  avatar: pl.Utf8, // base64
  notes: pl.Utf8, // only ever NULL
  tags: pl.List(pl.Utf8),
  coupons: pl.List(pl.Utf8),
  labels: pl.List(pl.Utf8),
  checksums: pl.List(pl.Utf8),
  luckyNumbers: pl.List(pl.Int64),
  address: pl.Struct([
    field("city", pl.Utf8),
    field("geo", pl.Struct([field("lat", pl.Float64), field("lon", pl.Float64)])),
    field("zip", pl.Utf8),
  ]),
  lines: pl.List(pl.Struct([field("price", pl.Float64), field("qty", pl.Int64), field("sku", pl.Utf8)])),
};
/** Utf8 and String are one type under two names. */
const dtypeText = (dtype: pl.DataType) => String(dtype).replaceAll("Utf8", "String");
const typesOf = (frame: pl.DataFrame) =>
  Object.fromEntries(frame.columns.map((column, index) => [column, dtypeText(frame.dtypes[index]!)]));

function groupOf(files: SnapshotFileGroup["files"]): SnapshotFileGroup {
  const size = files.reduce((sum, f) => sum + f.size, 0);
  return { kind: "snapshot-file-group", fingerprint: "test-group", size, nRecord: null, files };
}

async function read(storage: Storage, uris: string[], options?: DynamoDbExportReaderOptions) {
  const files = await Promise.all(
    uris.map(async (uri) => {
      const { etag, size } = await storage.head(uri); // step 1.3 reads each file as its etag says
      return { uri, etag, size, nRecord: null };
    }),
  );
  const group = groupOf(files);
  const result = await dynamoDbExportReader(options)(
    group,
    createReadContext(storage, group, new AbortController().signal),
  );
  return result.data as pl.DataFrame;
}

const gz = (lines: string[]) => gzipSync(lines.map((l) => `${l}\n`).join(""));

describe.each(backendFactories)("dynamodb-export reader on $name", (factory) => {
  let backend: BackendUnderTest;
  let storage: Storage;

  beforeAll(async () => {
    backend = await factory.create();
    storage = backend.storage;
  });
  afterAll(() => backend.cleanup());

  it("reads a 20k-item export of 16 files, file by file, into rows equal to the items, typed as the table says", async () => {
    const generated = await generateDynamoDbExport(storage, {
      baseUri: `${backend.base}full/`,
      itemCount: 20_000,
      fileCount: 16,
      seed: 42,
    });
    const exported = await readDynamoDbExportManifest(storage, generated.folder);
    expect(exported.files).toHaveLength(16);
    let rows = 0;
    for (const file of exported.files) {
      const items = generated.files.find((f) => f.uri === file.uri)!.items;
      const warnings: DynamoDbExportWarning[] = [];
      const group = groupOf([file]);
      const result = await dynamoDbExportReader({ onWarning: (w) => warnings.push(w) })(
        group,
        createReadContext(storage, group, new AbortController().signal),
      );
      const frame = result.data as pl.DataFrame;
      expect(result.rowsPerFile).toEqual({ [file.uri]: items.length });

      expect(frame.height).toBe(file.nRecord);
      const attributes = new Set(items.flatMap((item) => Object.keys(item)));
      expect(new Set(frame.columns)).toEqual(attributes);
      for (const [column, dtype] of Object.entries(typesOf(frame))) {
        expect(dtype, column).toBe(dtypeText(EXPECTED_TYPES[column]!));
      }
      expect(warnings.map((w) => w.columns)).toEqual([["ledger"]]);

      // Every column but externalId, row by row (absent attributes null).
      const compared = frame.columns.filter((c) => c !== "externalId");
      const expected = items.map((item: NativeItem) =>
        Object.fromEntries(compared.map((c) => [c, c in item ? expectedValue(item[c]) : null])),
      );
      expect(frame.select(...compared).toRecords(), file.uri).toEqual(expected);
      // Int64 beyond 2^53, exact: compared as text, as JS numbers can't hold them.
      const ids = frame.getColumn("externalId").cast(pl.Utf8).toArray();
      expect(ids).toEqual(
        items.map((item) => (item.externalId === undefined ? null : String(item.externalId))),
      );
      rows += frame.height;
    }
    expect(rows).toBe(20_000);
  });

  it("keeps a number that fits neither Int64 nor Float64 as its exact text, and says so", async () => {
    const uri = `${backend.base}numbers/a.json.gz`;
    await storage.put(
      uri,
      gz([
        '{"Item":{"i":{"N":"9223372036854775807"},"f":{"N":"0.1"},"x":{"N":"1"},"y":{"N":"100000000000000000000"}}}',
        '{"Item":{"i":{"N":"-9223372036854775808"},"f":{"N":"1e3"},"x":{"N":"3.14159265358979323846"},"y":{"N":"2"}}}',
      ]),
    );
    const warnings: DynamoDbExportWarning[] = [];
    const frame = await read(storage, [uri], { onWarning: (w) => warnings.push(w) });
    expect(typesOf(frame)).toEqual({
      f: dtypeText(pl.Float64),
      i: dtypeText(pl.Int64),
      x: dtypeText(pl.Utf8),
      y: dtypeText(pl.Float64),
    });
    expect(frame.getColumn("i").cast(pl.Utf8).toArray()).toEqual([
      "9223372036854775807",
      "-9223372036854775808",
    ]);
    expect(frame.getColumn("f").toArray()).toEqual([0.1, 1000]);
    expect(frame.getColumn("x").toArray()).toEqual(["1", "3.14159265358979323846"]);
    expect(frame.getColumn("y").toArray()).toEqual([1e20, 2]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.columns).toEqual(["x"]);
    expect(warnings[0]!.message).toContain("x");
  });

  it("fails on an attribute whose type differs between items, naming it, both types, files and lines", async () => {
    const first = `${backend.base}mixed/1.json.gz`;
    const second = `${backend.base}mixed/2.json.gz`;
    await storage.put(first, gz(['{"Item":{"id":{"S":"a"},"size":{"N":"1"}}}']));
    await storage.put(
      second,
      gz([
        '{"Item":{"id":{"S":"b"},"size":{"NULL":true}}}',
        '{"Item":{"id":{"S":"c"},"size":{"S":"large"}}}',
      ]),
    );
    const reading = read(storage, [first, second]);
    await expect(reading).rejects.toBeInstanceOf(DynamoDbMixedTypesError);
    await expect(reading).rejects.toThrow(
      `Attribute "size" is N in ${first} line 1 but S in ${second} line 2`,
    );

    await storage.put(second, gz(['{"Item":{"id":{"S":"c"},"size":{"M":{"w":{"N":"2"},"h":{"S":"x"}}}}}']));
    await storage.put(first, gz(['{"Item":{"id":{"S":"a"},"size":{"M":{"w":{"S":"wide"}}}}}']));
    await expect(read(storage, [first, second])).rejects.toThrow(
      `Attribute "size.w" is S in ${first} line 1 but N in ${second} line 1`,
    );

    const asJson = await read(storage, [first, second], { mixedTypes: "json" });
    expect(asJson.getColumn("size").toArray()).toEqual(['{"w":"wide"}', '{"w":2,"h":"x"}']);
  });

  it("reads an incremental export's changes: the NewImage (the Keys of a deletion), write time and deleted flag", async () => {
    const full = await generateDynamoDbExport(storage, {
      baseUri: `${backend.base}changes/`,
      itemCount: 60,
      fileCount: 1,
    });
    const increment = await generateDynamoDbIncrementalExport(storage, {
      baseUri: `${backend.base}changes/`,
      previous: full.table,
      exportFromTime: new Date(Date.UTC(2024, 5, 1)),
      exportToTime: new Date(Date.UTC(2024, 5, 1, 1)),
      inserts: 3,
      updates: 4,
      deletes: 2,
      fileCount: 2,
    });
    const frame = await read(
      storage,
      increment.files.map((file) => file.uri),
    );
    expect(frame.height).toBe(increment.changes.length);
    const rows = new Map(frame.toRecords().map((row) => [`${row.pk}|${row.sk}`, row]));
    for (const change of increment.changes) {
      const row = rows.get(change.key)!;
      expect(row, change.key).toBeDefined();
      expect(row[CHANGE_DELETED_COLUMN], change.key).toBe(change.kind === "delete");
      expect(Number(row[CHANGE_WRITE_TIME_COLUMN]), change.key).toBe(Number(change.writeTimestampMicros));
      // A deletion has only its key; any other change, its new image.
      expect(row.kind ?? null, change.key).toBe(change.newImage ? change.newImage.kind : null);
      expect(Number(row.version ?? Number.NaN)).toBe(
        change.newImage ? Number(change.newImage.version) : Number.NaN,
      );
    }

    const bad = `${backend.base}changes/no-metadata.json.gz`;
    await storage.put(bad, gz(['{"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"}}}']));
    await expect(read(storage, [bad])).rejects.toThrow(
      `${bad} line 1: Metadata.WriteTimestampMicros is not {"N": "<microseconds since the epoch>"}`,
    );
  });

  it("reads ION exports (full and incremental) into the same frames as their DYNAMODB_JSON twins", async () => {
    const twins = async (outputFormat: "DYNAMODB_JSON" | "ION") => {
      const base = `${backend.base}twins-${outputFormat}/`;
      const full = await generateDynamoDbExport(storage, {
        baseUri: base,
        itemCount: 3_000,
        fileCount: 3,
        seed: 9,
        outputFormat,
      });
      const increment = await generateDynamoDbIncrementalExport(storage, {
        baseUri: base,
        previous: full.table,
        exportFromTime: new Date(Date.UTC(2024, 5, 1)),
        exportToTime: new Date(Date.UTC(2024, 5, 1, 1)),
        inserts: 20,
        updates: 30,
        deletes: 10,
        outputFormat,
      });
      const declared = { columns: { ledger: { type: "float64" as const } } };
      return Promise.all(
        [full, increment].map((e) =>
          read(
            storage,
            e.files.map((f) => f.uri),
            declared,
          ),
        ),
      );
    };
    const [json, ion] = [await twins("DYNAMODB_JSON"), await twins("ION")];
    for (const [i, frame] of ion.entries()) {
      expect(frame.height).toBeGreaterThan(0);
      expect(typesOf(frame)).toEqual(typesOf(json[i]!));
      expect(frame.toRecords()).toEqual(json[i]!.toRecords());
    }
  });

  it("reads maps and lists as JSON text, binary as bytes, and declared types and renames", async () => {
    const uri = `${backend.base}options/a.json.gz`;
    await storage.put(
      uri,
      gz([
        '{"Item":{"id":{"N":"1"},"m":{"M":{"a":{"NS":["1","2"]},"b":{"L":[{"BOOL":true},{"NULL":true}]}}},"bin":{"B":"AAEC"},"bs":{"BS":["/w=="]},"n":{"N":"5"}}}',
        '{"Item":{"id":{"N":"2"},"m":{"L":[]},"n":{"N":"6"}}}',
      ]),
    );
    const frame = await read(storage, [uri], {
      nested: "json",
      mixedTypes: "json",
      binary: "bytes",
      columns: { n: { name: "amount", type: "float64" }, id: { type: "string" }, missing: { type: "int64" } },
    });
    expect(frame.columns).toEqual(["amount", "id", "missing", "bin", "bs", "m"]);
    expect(frame.getColumn("amount").toArray()).toEqual([5, 6]);
    expect(frame.getColumn("id").toArray()).toEqual(["1", "2"]);
    expect(frame.getColumn("missing").nullCount()).toBe(2);
    expect(frame.getColumn("m").toArray()).toEqual(['{"a":[1,2],"b":[true,null]}', "[]"]);
    // nodejs-polars can't hand Binary values to JS: check them through Parquet's bytes instead.
    const parquet = pl.readParquet(frame.select("bin", "bs").writeParquet());
    expect(parquet.select(pl.col("bin").cast(pl.Utf8)).getColumn("bin").toArray()).toEqual([
      "\u0000\u0001\u0002",
      null,
    ]);
    expect(parquet.width).toBe(2);

    await expect(read(storage, [uri], { columns: { n: { type: "boolean" } } })).rejects.toBeInstanceOf(
      DynamoDbColumnTypeError,
    );
    await expect(read(storage, [uri], { columns: { n: { name: "id" } } })).rejects.toThrow(
      /column name "id" is also the column of "n"/,
    );
  });

  it.each([
    ["a line that is not JSON", ['{"Item":{"a":{"S":"x"}}}', "{not json"], 2, /line 2: not JSON/],
    [
      "a line that is not DynamoDB JSON",
      ['{"Item":{"a":{"S":"x"}}}', '{"a":"x"}'],
      2,
      /line 2: not a DynamoDB export item/,
    ],
    [
      "an attribute that is not an attribute value",
      ['{"Item":{"a":"x"}}'],
      1,
      /line 1: "a" is not a DynamoDB attribute value/,
    ],
    [
      "an unknown type descriptor",
      [
        '{"Item":{"a":{"S":"x"}}}',
        '{"Item":{"a":{"S":"y"}}}',
        '{"Item":{"a":{"S":"z"},"m":{"M":{"deep":{"X":"1"}}}}}',
      ],
      3,
      /line 3: "m\.deep" has an unknown type descriptor "X"/,
    ],
    [
      "a number that is not a number",
      ['{"Item":{"a":{"N":"12abc"}}}'],
      1,
      /line 1: "a": N holds a number as text/,
    ],
    [
      "an incremental export line",
      ['{"Keys":{"a":{"S":"x"}},"NewImage":{"a":{"S":"x"}}}'],
      1,
      /line 1: an incremental export line/,
    ],
  ])("fails on %s, naming the file and line", async (_name, lines, line, message) => {
    const good = `${backend.base}bad/good.json.gz`;
    const bad = `${backend.base}bad/${line}-${lines.length}.json.gz`;
    await storage.put(good, gz(['{"Item":{"a":{"S":"fine"}}}']));
    await storage.put(bad, gz(lines));
    const error = await read(storage, [good, bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamoDbExportLineError);
    expect((error as DynamoDbExportLineError).uri).toBe(bad);
    expect((error as DynamoDbExportLineError).line).toBe(line);
    expect((error as Error).message).toContain(bad);
    expect((error as Error).message).toMatch(message);
  });

  it("fails on a corrupt .json.gz, naming the file and the line the damage starts at", async () => {
    const lines = Array.from(
      { length: 5000 },
      (_, i) => `{"Item":{"id":{"N":"${i}"},"pad":{"S":"${"x".repeat(i % 97)}"}}}`,
    );
    const whole = gz(lines);
    const uri = `${backend.base}corrupt/cut.json.gz`;
    await storage.put(uri, whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await read(storage, [uri]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamoDbExportLineError);
    expect((error as DynamoDbExportLineError).uri).toBe(uri);
    const line = (error as DynamoDbExportLineError).line;
    expect(line).toBeGreaterThan(1);
    expect(line).toBeLessThan(5000);
    expect((error as Error).message).toMatch(new RegExp(`cut\\.json\\.gz line ${line}: corrupt gzip data`));
  });
});
