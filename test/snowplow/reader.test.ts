import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { afterAll, describe, expect, it } from "vitest";
import { EnrichedEventError } from "../../src/snowplow/errors.js";
import { ENRICHED_FIELD_COUNT, ENRICHED_FIELDS, type EnrichedFieldName } from "../../src/snowplow/fields.js";
import {
  GENERATED_ERROR_CODES,
  generateEnrichedTsv,
  writeEnrichedArchive,
} from "../../src/snowplow/generator.js";
import {
  badRowsToNdjson,
  EnrichedReadError,
  enrichedPolarsSchema,
  readEnrichedEvents,
  readEnrichedEventsAsync,
} from "../../src/snowplow/reader.js";
import { transformEnrichedEvent } from "../../src/snowplow/transform.js";
import { contexts, enrichedLine, unstruct } from "./enriched-lines.js";

const read = (
  text: string | Buffer,
  options: { shred?: boolean; dedupe?: boolean; lineNumbers?: boolean } = {},
) =>
  readEnrichedEvents(typeof text === "string" ? Buffer.from(text) : text, {
    source: "s3://bucket/run=x/part-0",
    ...options,
  });

function transformAccepts(line: string): boolean {
  try {
    transformEnrichedEvent(line);
    return true;
  } catch (error) {
    if (error instanceof EnrichedEventError) return false;
    throw error;
  }
}

describe("readEnrichedEvents: typed frame", () => {
  it("returns the 131 columns with the documented dtypes and values", () => {
    const { events, stats, badRows } = read(
      `${enrichedLine({
        txn_id: "2147483647",
        domain_sessionidx: "-2147483648",
        geo_latitude: "52.52",
        br_cookies: "1",
        br_features_pdf: "0",
        dvce_created_tstamp: "2024-01-02 03:04:05",
        true_tstamp: "2024-01-02 03:04:05.123456789",
        se_value: "1e3",
      })}\n`,
    );
    expect(badRows).toEqual([]);
    expect(stats).toEqual({ lines: 1, good: 1, bad: 0, duplicates: 0 });
    expect(events.columns).toEqual(ENRICHED_FIELDS.map((f) => f.name));
    const schema = enrichedPolarsSchema();
    for (const [name, dtype] of Object.entries(events.schema)) {
      expect(String(dtype), name).toBe(String(schema[name]));
    }
    expect(String(events.schema.collector_tstamp)).toBe(String(pl.Datetime("ms", "UTC")));
    const row = events.toRecords()[0] as Record<string, unknown>;
    expect(row.txn_id).toBe(2147483647);
    expect(row.domain_sessionidx).toBe(-2147483648);
    expect(row.geo_latitude).toBe(52.52);
    expect(row.se_value).toBe(1000);
    expect(row.br_cookies).toBe(true);
    expect(row.br_features_pdf).toBe(false);
    expect(row.br_features_java).toBeNull();
    expect(row.app_id).toBe("shop");
    expect(row.user_id).toBeNull();
    expect((row.collector_tstamp as Date).toISOString()).toBe("2024-01-02T03:04:05.123Z");
    expect((row.dvce_created_tstamp as Date).toISOString()).toBe("2024-01-02T03:04:05.000Z");
    // Millisecond precision: extra fraction digits are truncated.
    expect((row.true_tstamp as Date).toISOString()).toBe("2024-01-02T03:04:05.123Z");
    expect(row.contexts).toBeNull();
  });

  it("keeps JSON columns as text and, on request, shreds them into one JSON-text column per schema key", () => {
    const line = enrichedLine({
      contexts: contexts(
        ["iglu:com.acme/checkoutStep/jsonschema/2-0-1", { step: 1 }],
        ["iglu:com.my-company/product/jsonschema/1-0-2", { sku: "a" }],
        ["iglu:com.my-company/product/jsonschema/1-0-2", { sku: "b" }],
      ),
      derived_contexts: contexts(["iglu:com.acme/checkoutStep/jsonschema/2-0-0", { step: 2 }]),
      unstruct_event: unstruct("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", {
        targetUrl: "u",
      }),
    });
    const plain = read(`${line}\n${enrichedLine({ event_id: "e2" })}\n`);
    expect(plain.events.width).toBe(ENRICHED_FIELD_COUNT);
    expect(plain.events.getColumn("contexts").get(0)).toBe(line.split("\t")[52]);

    const { events } = read(`${line}\n${enrichedLine({ event_id: "e2" })}\n`, { shred: true });
    expect(events.columns.slice(ENRICHED_FIELD_COUNT)).toEqual([
      "contexts_com_acme_checkout_step_2",
      "contexts_com_my_company_product_1",
      "unstruct_event_com_snowplowanalytics_snowplow_link_click_1",
    ]);
    const [first, second] = events.toRecords() as Array<Record<string, unknown>>;
    expect(JSON.parse(first?.contexts_com_acme_checkout_step_2 as string)).toEqual([
      { step: 1 },
      { step: 2 },
    ]);
    expect(JSON.parse(first?.contexts_com_my_company_product_1 as string)).toEqual([
      { sku: "a" },
      { sku: "b" },
    ]);
    expect(JSON.parse(first?.unstruct_event_com_snowplowanalytics_snowplow_link_click_1 as string)).toEqual({
      targetUrl: "u",
    });
    expect(second?.contexts_com_acme_checkout_step_2).toBeNull();
    // Same keys as the analytics-SDK JSON.
    const sdk = transformEnrichedEvent(line);
    expect(JSON.parse(first?.contexts_com_acme_checkout_step_2 as string)).toEqual(
      sdk.contexts_com_acme_checkout_step_2,
    );
  });

  it("agrees with the per-line rules (transform) on every tricky scalar value", () => {
    const cases: Array<[EnrichedFieldName, string[]]> = [
      [
        "txn_id",
        [
          "12",
          "+12",
          "-0",
          "007",
          "12abc",
          "1.5",
          " 12",
          "12 ",
          "1e3",
          "0x10",
          "2147483647",
          "2147483648",
          "-2147483648",
          "-2147483649",
          "99999999999999999999",
          "１２",
          "-",
        ],
      ],
      [
        "tr_total",
        [
          "1.5",
          "+1.5",
          ".5",
          "5.",
          "1e5",
          "1E+5",
          "-.5e-3",
          "1e",
          "inf",
          "-inf",
          "NaN",
          "infinity",
          "1d",
          "1,5",
          "0x1p3",
          "1_0",
          "1e999",
          ".",
          "+.e1",
          " 1",
        ],
      ],
      ["br_cookies", ["0", "1", "2", "true", "01", " 1", "-1"]],
      [
        "etl_tstamp",
        [
          "2024-01-02 03:04:05",
          "2024-01-02 03:04:05.1",
          "2024-01-02 03:04:05.123456789",
          "2024-01-02 03:04:05.1234567890",
          "2024-01-02 03:04:05.",
          "2024-1-2 03:04:05",
          "2024-02-29 00:00:00",
          "2023-02-29 00:00:00",
          "2024-04-31 00:00:00",
          "2024-01-02 24:00:00",
          "2024-01-02 23:59:60",
          "2024-01-02T03:04:05",
          "2024-01-02 03:04:05Z",
          "+2024-01-02 03:04:05",
          "02024-01-02 03:04:05",
        ],
      ],
    ];
    const probes = cases.flatMap(([field, values]) =>
      values.map((value) => ({ field, value, line: enrichedLine({ [field]: value }) })),
    );
    const lines = probes.map((probe) => probe.line);
    const { badRows, stats } = read(lines.join("\n"));
    const rejectedByReader = new Set(badRows.map((row) => row.line - 1));
    const disagreements = probes
      .map((probe, index) => ({
        field: probe.field,
        value: probe.value,
        reader: !rejectedByReader.has(index),
        transform: transformAccepts(probe.line),
      }))
      .filter((verdict) => verdict.reader !== verdict.transform);
    expect(disagreements).toEqual([]);
    expect(stats.good + stats.bad).toBe(lines.length);
    // Spot checks of the rules themselves.
    const accepted = (field: EnrichedFieldName, value: string) =>
      transformAccepts(enrichedLine({ [field]: value }));
    expect(accepted("txn_id", "12abc")).toBe(false);
    expect(accepted("txn_id", "1.5")).toBe(false);
    expect(accepted("txn_id", "2147483648")).toBe(false);
    expect(accepted("br_cookies", "true")).toBe(false);
    expect(accepted("etl_tstamp", "2024-01-02 03:04:05.123456789")).toBe(true);
  });
});

describe("readEnrichedEvents: bad rows and line accounting", () => {
  it("returns each bad row with source, 1-based line, raw text and all its errors", () => {
    const good = enrichedLine();
    const text = [good, "", enrichedLine({ txn_id: "x", br_cookies: "2" }), good, "garbage"].join("\n");
    const { badRows, stats, events } = read(`${text}\n`);
    expect(stats).toEqual({ lines: 5, good: 2, bad: 3, duplicates: 0 });
    expect(events.height).toBe(2);
    expect(badRows.map((r) => [r.line, r.errors.map((e) => e.code)])).toEqual([
      [2, ["not_tsv"]],
      [3, ["invalid_int", "invalid_boolean"]],
      [5, ["not_tsv"]],
    ]);
    expect(badRows[1]).toMatchObject({ source: "s3://bucket/run=x/part-0", raw: text.split("\n")[2] });
    const ndjson = badRowsToNdjson(badRows);
    expect(ndjson.endsWith("\n")).toBe(true);
    expect(
      ndjson
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l).line),
    ).toEqual([2, 3, 5]);
  });

  it.each([
    ["empty input", "", 0, 0],
    ["one line without newline", "L", 1, 0],
    ["one line with newline", "L\n", 1, 0],
    ["a final blank line is a line", "L\n\n", 2, 1],
    ["CRLF", "L\r\nL\r\n", 2, 0],
    ["blank CRLF line in the middle", "L\r\n\r\nL", 3, 1],
    ["leading blank lines", "\n\nL", 3, 2],
    ["a final CR without LF", "L\nL\r", 2, 0],
    ["a lone CR line", "L\n\r\nL", 3, 1],
  ])("counts lines exactly: %s", (_name, template, lines, bad) => {
    const text = template.replaceAll("L", enrichedLine());
    const { stats } = read(text);
    expect(stats).toMatchObject({ lines, bad, good: lines - bad });
  });

  it.each([
    ["one field too many, empty (a trailing tab)", (line: string) => `${line}\t`],
    ["two fields too many, empty", (line: string) => `${line}\t\t`],
    ["one field too many, with text", (line: string) => `${line}\tx`],
    ["one field too few", (line: string) => line.split("\t").slice(0, -1).join("\t")],
    [
      "one field too few, the last one empty",
      (line: string) => `${line.split("\t").slice(0, -2).join("\t")}\t`,
    ],
    ["a CR before the extra tab", (line: string) => `${line}\r\t`],
  ])("rejects a wrong field count exactly: %s", (_name, mangle) => {
    const good = enrichedLine({ page_title: "caf\u00e9 \u{1f600}" }); // multi-byte characters
    const { stats, badRows } = read(`${good}\n${mangle(good)}\n${good}\r\n`);
    expect(stats).toMatchObject({ lines: 3, good: 2, bad: 1 });
    expect(badRows[0]).toMatchObject({ line: 2, raw: mangle(good) });
    expect(badRows[0]?.errors.map((e) => e.code)).toEqual(["field_count"]);
  });

  it("keeps every byte but the line ending, whatever control bytes a field holds", () => {
    const line = enrichedLine({ page_title: "a\u0000b\u0001c\rd" });
    const { stats, events } = read(`${line}\n`);
    expect(stats).toMatchObject({ lines: 1, good: 1, bad: 0 });
    expect(events.getColumn("page_title").get(0)).toBe("a\u0000b\u0001c\rd");
  });

  it("flags lines that are not valid UTF-8 instead of altering them silently", () => {
    const good = Buffer.from(`${enrichedLine()}\n`);
    const broken = Buffer.from(`${enrichedLine({ page_title: "caf\u00e9" })}\n`.replace("café", "caf__"));
    const bytes = Buffer.concat([good, broken, good]);
    const at = bytes.indexOf("caf__") + 3;
    bytes[at] = 0xc3; // a lone lead byte followed by "_"
    bytes[at + 1] = 0x28;
    const { stats, badRows } = read(bytes);
    expect(stats).toEqual({ lines: 3, good: 2, bad: 1, duplicates: 0 });
    expect(badRows[0]?.line).toBe(2);
    expect(badRows[0]?.errors[0]?.code).toBe("invalid_utf8");
  });

  it("reads gzip detected by its magic bytes, whatever the file name", () => {
    const { text, truth } = generateEnrichedTsv(300, { seed: 9, badShare: 0.05 });
    const plain = read(text);
    const zipped = read(gzipSync(text));
    expect(zipped.stats).toEqual(plain.stats);
    expect(zipped.stats).toMatchObject({ lines: truth.lines, good: truth.good, bad: truth.bad });
    expect(zipped.events.frameEqual(plain.events)).toBe(true);
    expect(() => read(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).toThrow(EnrichedReadError);
  });

  it("reconciles generated data exactly, per error class", () => {
    const { text, truth } = generateEnrichedTsv(5000, { seed: 42, badShare: 0.04 });
    const { stats, badRows, events } = read(text);
    expect(stats).toEqual({ lines: truth.lines, good: truth.good, bad: truth.bad, duplicates: 0 });
    expect(events.height).toBe(truth.good);
    const byCode: Record<string, number> = Object.fromEntries(GENERATED_ERROR_CODES.map((code) => [code, 0]));
    for (const row of badRows) {
      expect(row.errors).toHaveLength(1); // the generator puts exactly one error in a bad line
      const code = row.errors[0]?.code as string;
      byCode[code] = (byCode[code] ?? 0) + 1;
    }
    expect(byCode).toEqual(truth.badByCode);
    for (const code of GENERATED_ERROR_CODES) expect(truth.badByCode[code]).toBeGreaterThan(0);
    // The JSON transform agrees line by line.
    const lines = text.slice(0, -1).split("\n");
    const rejected = new Set(badRows.map((r) => r.line));
    lines.forEach((line, index) => {
      expect(transformAccepts(line), `line ${index + 1}`).toBe(!rejected.has(index + 1));
    });
  });
});

describe("readEnrichedEventsAsync", () => {
  it("gives exactly what readEnrichedEvents gives: events, shredded columns, bad rows, duplicates", async () => {
    const { text, truth } = generateEnrichedTsv(3000, { seed: 77, badShare: 0.04 });
    const options = { source: "s3://bucket/run=x/part-0", shred: true, dedupe: true };
    const sync = readEnrichedEvents(Buffer.from(text), options);
    const overlapped = await readEnrichedEventsAsync(Buffer.from(text), options);
    expect(sync.stats.bad).toBe(truth.bad);
    expect(sync.stats.duplicates).toBeGreaterThan(0);
    expect(overlapped.stats).toEqual(sync.stats);
    expect(overlapped.badRows).toEqual(sync.badRows);
    expect(overlapped.badRows.some((row) => row.errors.some((e) => e.code === "invalid_json"))).toBe(true);
    expect(overlapped.events.columns).toEqual(sync.events.columns);
    expect(overlapped.events.columns.some((name) => name.startsWith("contexts_"))).toBe(true);
    expect(overlapped.events.frameEqual(sync.events, true)).toBe(true);
    const zipped = await readEnrichedEventsAsync(gzipSync(text), options);
    expect(zipped.stats).toEqual(sync.stats);
    expect(zipped.events.frameEqual(sync.events, true)).toBe(true);
    await expect(readEnrichedEventsAsync(Buffer.from([0x1f, 0x8b, 1, 2, 3]), options)).rejects.toThrow(
      EnrichedReadError,
    );
  });
});

describe("readEnrichedEvents: a batch in pieces", () => {
  it("reads several texts as the one stream their concatenation is, line numbers and bad rows included", async () => {
    const { text } = generateEnrichedTsv(1200, { seed: 91, badShare: 0.05 });
    const lines = text.split("\n").filter((line) => line.length > 0);
    // Pieces: one without a final newline, one a blank line, one gzipped, one not valid UTF-8, one empty.
    const first = Buffer.from(lines.slice(0, 400).join("\n"));
    const middle = Buffer.from(`${lines.slice(400, 900).join("\n")}\n`);
    const invalid = Buffer.concat([Buffer.from(`${lines[900]}\n`), Buffer.from([0xff, 0x09, 0x0a])]);
    const last = Buffer.from(`${lines.slice(901).join("\r\n")}\r\n`);
    const pieces = [first, Buffer.from("\n"), gzipSync(middle), invalid, Buffer.alloc(0), last];
    // The same batch as one text: the first piece's last line ended by a newline.
    const whole = Buffer.concat([first, Buffer.from("\n\n"), middle, invalid, last]);
    const options = { source: "batch", shred: true, dedupe: true, lineNumbers: true };
    const expected = readEnrichedEvents(whole, options);
    for (const actual of [
      readEnrichedEvents(pieces, options),
      await readEnrichedEventsAsync(pieces, options),
    ]) {
      expect(actual.stats).toEqual(expected.stats);
      expect(actual.badRows).toEqual(expected.badRows);
      expect(actual.events.frameEqual(expected.events, true)).toBe(true);
    }
    expect(expected.badRows.map((row) => row.line)).toContain(401); // the blank piece
    expect(expected.badRows.map((row) => row.line)).toContain(903); // the invalid UTF-8 line
    expect(expected.stats.lines).toBe(lines.length + 2);
  });
});

describe("readEnrichedEvents: in slices", () => {
  it("gives the same events, bad rows and duplicates whatever the slice size, across slice borders", async () => {
    const { text } = generateEnrichedTsv(600, { seed: 23, badShare: 0.05 });
    const lines = text.split("\n").filter((line) => line.length > 0);
    // A duplicate of the first line at the very end, so de-duplication has to look across every slice; a
    // blank line, a line that is not UTF-8, a CRLF piece and a line longer than the smallest slices.
    const pieces = [
      Buffer.from(`${lines.slice(0, 300).join("\n")}\n\n`),
      Buffer.concat([Buffer.from([0xff, 0x09, 0x0a]), Buffer.from(`${"x\t".repeat(40_000)}\n`)]),
      gzipSync(`${lines.slice(300).join("\r\n")}\r\n${lines[0]}`),
    ];
    const options = { source: "batch", shred: true, dedupe: true, lineNumbers: true };
    const whole = readEnrichedEvents(pieces, options);
    expect(whole.stats.duplicates).toBeGreaterThan(0);
    expect(whole.stats.lines).toBe(lines.length + 4);
    expect(whole.events.getColumn("line_number").toArray()).not.toContain(whole.stats.lines);
    for (const sliceBytes of [16 * 1024, 200 * 1024]) {
      for (const actual of [
        readEnrichedEvents(pieces, { ...options, sliceBytes }),
        await readEnrichedEventsAsync(pieces, { ...options, sliceBytes }),
      ]) {
        expect(actual.stats).toEqual(whole.stats);
        expect(actual.badRows).toEqual(whole.badRows);
        expect(actual.events.frameEqual(whole.events, true)).toBe(true);
      }
    }
  });
});

describe("readEnrichedEventsAsync: its temporary batch file", () => {
  it("is written under the OS temp folder and removed once read, also when the read fails", async () => {
    const temp = await mkdtemp(join(tmpdir(), "snaplake-reader-tmp-"));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      const { text } = generateEnrichedTsv(200, { seed: 5, badShare: 0.05 });
      const read = await readEnrichedEventsAsync([Buffer.from(text), Buffer.from(text)], { source: "tmp" });
      expect(read.stats.lines).toBe(2 * text.trimEnd().split("\n").length);
      await expect(
        readEnrichedEventsAsync([Buffer.from(text), Buffer.from([0x1f, 0x8b, 1, 2, 3])], { source: "tmp" }),
      ).rejects.toThrow(EnrichedReadError);
      expect(await readdir(temp)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      await rm(temp, { recursive: true, force: true });
    }
  });
});

describe("readEnrichedEvents: in-batch natural de-duplication", () => {
  const id = "7b1c1a42-0000-4000-a000-000000000001";
  const event = (etl: string, fingerprint: string, appId: string) =>
    enrichedLine({ event_id: id, etl_tstamp: etl, event_fingerprint: fingerprint, app_id: appId });

  it("keeps the earliest etl_tstamp per event_id + fingerprint, ties by line order, never without fingerprint", () => {
    const lines = [
      event("2024-01-02 03:00:05.000", "fp1", "late"),
      event("2024-01-02 03:00:01.000", "fp1", "earliest"),
      event("2024-01-02 03:00:01.000", "fp1", "tie-later-line"),
      event("", "fp1", "no-etl"),
      event("2024-01-02 03:00:09.000", "fp2", "synthetic"), // same id, other fingerprint: kept
      event("2024-01-02 03:00:01.000", "", "unfingerprinted-1"),
      event("2024-01-02 03:00:01.000", "", "unfingerprinted-2"),
    ];
    const run = (ordered: string[]) => read(ordered.join("\n"), { dedupe: true });
    const { events, stats } = run(lines);
    expect(stats).toMatchObject({ lines: 7, good: 7, duplicates: 3 });
    expect(events.getColumn("app_id").toArray()).toEqual([
      "earliest",
      "synthetic",
      "unfingerprinted-1",
      "unfingerprinted-2",
    ]);
    // Deterministic: the same input always keeps the same rows.
    expect(run(lines).events.frameEqual(events)).toBe(true);
  });

  it("removes exactly the generator's natural duplicates", () => {
    const { text, truth } = generateEnrichedTsv(4000, {
      seed: 3,
      badShare: 0.01,
      naturalDuplicateShare: 0.05,
    });
    const { stats, events } = read(text, { dedupe: true, lineNumbers: true });
    expect(truth.naturalDuplicates).toBeGreaterThan(100);
    expect(stats.duplicates).toBe(truth.naturalDuplicates);
    expect(events.height).toBe(truth.good - truth.naturalDuplicates);
    expect(events.columns[0]).toBe("line_number");
    const withFingerprint = events.filter(pl.col("event_fingerprint").isNotNull());
    expect(withFingerprint.select("event_id", "event_fingerprint").unique().height).toBe(
      withFingerprint.height,
    );
  });
});

describe("writeEnrichedArchive", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("lays out run folders with plain and gzip part files and _SUCCESS, and the reader reconciles them", async () => {
    const root = await mkdtemp(join(tmpdir(), "snaplake-archive-"));
    dirs.push(root);
    const archive = await writeEnrichedArchive({
      root,
      runs: 2,
      filesPerRun: 3,
      linesPerFile: 400,
      seed: 5,
      badShare: 0.02,
    });
    expect(archive.runs).toEqual(["run=2024-03-01-00-00-00/", "run=2024-03-01-01-00-00/"]);
    expect(await readdir(join(root, "run=2024-03-01-01-00-00"))).toEqual([
      "_SUCCESS",
      "part-00000",
      "part-00001.gz",
      "part-00002",
    ]);
    const total = { lines: 0, good: 0, bad: 0, duplicates: 0 };
    for (const file of archive.files) {
      const bytes = await readFile(join(root, file.path));
      expect(bytes[0] === 0x1f && bytes[1] === 0x8b).toBe(file.gzip);
      const { stats } = readEnrichedEvents(bytes, { source: file.path, dedupe: true });
      expect(stats).toEqual({
        lines: file.truth.lines,
        good: file.truth.good,
        bad: file.truth.bad,
        duplicates: file.truth.naturalDuplicates,
      });
      for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += stats[key];
    }
    expect(total).toEqual({
      lines: archive.truth.lines,
      good: archive.truth.good,
      bad: archive.truth.bad,
      duplicates: archive.truth.naturalDuplicates,
    });
  });

  it("writes through a callback instead of the file system", async () => {
    const written = new Map<string, number>();
    const archive = await writeEnrichedArchive({
      write: (path, data) => void written.set(path, data.length),
      runs: 1,
      filesPerRun: 2,
      linesPerFile: 10,
    });
    expect([...written.keys()].sort()).toEqual([
      "run=2024-03-01-00-00-00/_SUCCESS",
      "run=2024-03-01-00-00-00/part-00000",
      "run=2024-03-01-00-00-00/part-00001.gz",
    ]);
    expect(archive.truth.lines).toBe(20);
  });
});
