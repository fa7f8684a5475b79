/**
 * The sample Snowplow generator, and `snaplake snowplow to-json` as users run it: the built binary
 * (dist/, compiled by `npm test`) in a child process, reading files and stdin.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENRICHED_FIELDS } from "../../src/snowplow/fields.js";
import { EnrichedEventGenerator, generateEnrichedTsv } from "../../src/snowplow/generator.js";
import { readEnrichedEvents } from "../../src/snowplow/reader.js";
import { transformEnrichedEvent } from "../../src/snowplow/transform.js";
import { builtFile, expectNoStackTrace } from "../support/cli.js";
import { enrichedLine } from "./enriched-lines.js";

describe("EnrichedEventGenerator", () => {
  it("is deterministic from its seed", () => {
    const a = generateEnrichedTsv(500, { seed: 77, badShare: 0.05 });
    const b = generateEnrichedTsv(500, { seed: 77, badShare: 0.05 });
    const c = generateEnrichedTsv(500, { seed: 78, badShare: 0.05 });
    expect(a.text).toBe(b.text);
    expect(a.truth).toEqual(b.truth);
    expect(c.text).not.toBe(a.text);
    expect(a.truth.bytes).toBe(Buffer.byteLength(a.text));
    const generator = new EnrichedEventGenerator({ seed: 77, badShare: 0.05 });
    expect(generator.linesBuffer(500).toString()).toBe(a.text);
  });

  it("fills every one of the 131 fields somewhere, with the schemas the golden rules cover", () => {
    const { text } = generateEnrichedTsv(4000, { seed: 1 });
    const { events } = readEnrichedEvents(Buffer.from(text), { source: "generated", shred: true });
    const empty = ENRICHED_FIELDS.map((f) => f.name).filter(
      (name) => events.getColumn(name).nullCount() === events.height,
    );
    expect(empty).toEqual([]);
    expect(events.columns).toEqual(
      expect.arrayContaining([
        "contexts_com_acme_checkout_step_2", // camelCase name
        "contexts_org_w3_performance_timing_1",
        "contexts_com_my_company_product_1", // dashed vendor, several per event
        "contexts_nl_basjes_yauaa_context_1", // derived
        "unstruct_event_com_acme_add_to_basket_1",
        "unstruct_event_com_my_company_video_play_3",
      ]),
    );
    const products = events.getColumn("contexts_com_my_company_product_1").toArray() as Array<string | null>;
    expect(products.some((cell) => cell !== null && JSON.parse(cell).length > 1)).toBe(true);
  });

  it("gives each event its own web_page context id, as trackers do, and copies it into natural duplicates", () => {
    const { text } = generateEnrichedTsv(3000, {
      seed: 3,
      naturalDuplicateShare: 0.05,
      syntheticDuplicateShare: 0,
      unfingerprintedDuplicateShare: 0,
    });
    const pageIds = (dedupe: boolean) => {
      const { events } = readEnrichedEvents(Buffer.from(text), { source: "generated", shred: true, dedupe });
      const ids = events
        .getColumn("contexts_com_snowplowanalytics_snowplow_web_page_1")
        .toArray()
        .flatMap((cell) => (cell === null ? [] : (JSON.parse(cell as string) as Array<{ id: string }>)))
        .map((page) => page.id);
      expect(ids.length).toBeGreaterThan(0.9 * events.height);
      return ids;
    };
    const unique = pageIds(true);
    expect(new Set(unique).size).toBe(unique.length);
    const withCopies = pageIds(false);
    expect(new Set(withCopies).size).toBe(unique.length);
    expect(withCopies.length - unique.length).toBeGreaterThan(100);
  });
});

describe("snaplake snowplow to-json", () => {
  let dir = "";
  const good = [
    enrichedLine({ event_id: "a" }),
    enrichedLine({ event_id: "b", geo_latitude: "1", geo_longitude: "2" }),
  ];
  const bad = enrichedLine({ event_id: "c", txn_id: "12abc" });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "snaplake-to-json-"));
    // A gzip file without a .gz name: detected by content.
    await writeFile(join(dir, "part-00000"), gzipSync(`${good[0]}\n${bad}\n${good[1]}\n`));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function cli(
    args: string[],
    stdin?: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [builtFile("cli/main.js"), "snowplow", "to-json", ...args]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
      });
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      child.on("error", reject);
      child.on("close", (code) => {
        try {
          expectNoStackTrace({ stdout, stderr }, `snaplake snowplow to-json ${args.join(" ")}`);
          resolve({ code, stdout, stderr });
        } catch (error) {
          reject(error);
        }
      });
      child.stdin.end(stdin ?? "");
    });
  }

  it("writes NDJSON for good lines, reports bad ones with file and line, and exits 1", async () => {
    const file = join(dir, "part-00000");
    const { code, stdout, stderr } = await cli([file]);
    expect(code).toBe(1);
    const objects = stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(objects).toEqual(good.map((line) => transformEnrichedEvent(line)));
    expect(objects[1].geo_location).toBe("1,2");
    expect(stderr).toContain(`${file}:2: txn_id: cannot parse txn_id value "12abc"`);
  });

  it("reads stdin when no file is given and exits 0 with --keep-going", async () => {
    const { code, stdout, stderr } = await cli(["--keep-going"], `${good[0]}\r\n\n${good[1]}`);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split("\n")).toHaveLength(2);
    expect(stderr).toContain("<stdin>:2: line: line is not tab-separated");
  });
});
