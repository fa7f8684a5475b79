/** The examples run as shipped (through the package's own name, as users import it). */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./support/temp-dir.js";

function runExample(name: string) {
  const dir = tempDir(`snaplake-example-${name}-`);
  return spawnSync(process.execPath, ["--import", "tsx", join("examples", name, "run.ts"), dir], {
    encoding: "utf8",
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    timeout: 180_000,
  });
}

describe("examples", () => {
  it("orders-snapshot-to-datalake builds a validated, de-duplicated lake", () => {
    const result = runExample("orders-snapshot-to-datalake");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("validation: ok");
    expect(result.stdout).toMatch(/partitions: 24, files: \d+, rows: 100000, duplicates removed: 5000/);
  }, 200_000);

  it("snowplow-enriched-to-datalake reconciles every input line", () => {
    const result = runExample("snowplow-enriched-to-datalake");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("validation: ok");
    const [, lines, bad, dups] = result.stdout.match(
      /input lines: (\d+) \(generated: (\d+) bad, (\d+) natural duplicates\)/,
    )!;
    const [, read, kept, badRows] = result.stdout.match(/read (\d+), kept (\d+), bad rows (\d+)/)!;
    expect(Number(read)).toBe(Number(lines));
    expect(Number(badRows)).toBe(Number(bad));
    expect(Number(kept)).toBe(Number(lines) - Number(bad) - Number(dups));
  }, 200_000);

  it("dynamodb-export-to-datalake turns the generated export into a validated lake, every item a row", () => {
    const result = runExample("dynamodb-export-to-datalake");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("validation: ok");
    const [, files, items] = result.stdout.match(/export: \S+, (\d+) data files, (\d+) items/)!;
    expect(Number(files)).toBe(8);
    expect(Number(items)).toBe(20_000);
    expect(result.stdout).toMatch(/partitions: 3, files: \d+, rows: 20000\n/);
  }, 200_000);

  it("rds-export-to-datalake turns the export's orders table into a validated, partitioned lake", () => {
    const result = runExample("rds-export-to-datalake");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("validation: ok");
    expect(result.stdout).toMatch(/table shop\.public\.orders, 20000 rows\n/);
    expect(result.stdout).toMatch(/partitions: 4, files: \d+, rows: 20000\n/);
  }, 200_000);
});
