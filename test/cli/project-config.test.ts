/**
 * Config checks at parse time and the task commands' answers, through the CLI on local folders and the
 * embedded tracker (a state folder per test).
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { afterEach, describe, expect, it } from "vitest";
import { writeOrdersSnapshot } from "../../src/samples/orders.js";
import { createStorage } from "../../src/storage/create.js";
import { snaplake, stderrLines } from "../support/cli.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function projectDir(overrides: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "snaplake-config-"));
  dirs.push(dir);
  const config = {
    projectId: "orders",
    snapshot: { uri: "./snapshot/" },
    reader: { format: "parquet" },
    derivedColumns: [{ name: "year", from: "order_time", format: "%Y" }],
    stagingUri: "./staging/",
    datalakeUri: "./lake/",
    partitionKeys: ["year"],
    ...overrides,
  };
  const file = join(dir, "snaplake.config.json");
  writeFileSync(file, JSON.stringify(config));
  const cli = (...args: string[]) =>
    snaplake([...args, "--config", file, "--state-dir", join(dir, ".snaplake")]);
  return { dir, file, cli };
}

/** One line of error, besides log lines and the line naming the tracker that every project command prints. */
function oneLine(stderr: string) {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderrLines(stderr)).toHaveLength(1);
}

describe("config checks at parse time", () => {
  it("an invalid includeRegex is a configuration error naming the field (exit 2), before any step", async () => {
    const { cli } = projectDir({ snapshot: { uri: "./snapshot/", includeRegex: "part-(\\d+" } });
    const result = await cli("run");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("snapshot.includeRegex: not a valid regular expression");
    oneLine(result.stderr);
  });

  it("include takes globs: a regular expression there (as include held before) is refused, pointing at includeRegex", async () => {
    const { cli } = projectDir({ snapshot: { uri: "./snapshot/", include: "part-(\\d+" } });
    const result = await cli("run");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("snapshot.include: takes globs");
    expect(result.stderr).toContain("put it in snapshot.includeRegex instead");
    oneLine(result.stderr);
  });

  it("refuses a lake inside staging, staging inside the lake, and the same folder for both (exit 2)", async () => {
    for (const [stagingUri, datalakeUri] of [
      ["./data/", "./data/lake/"],
      ["./lake/staging", "./lake/"],
      ["./same/", "./same"],
    ]) {
      const { cli } = projectDir({ stagingUri, datalakeUri });
      const result = await cli("status");
      expect(result.code, `${stagingUri} ${datalakeUri}`).toBe(2);
      expect(result.stderr).toContain("datalakeUri: must not overlap stagingUri");
      oneLine(result.stderr);
    }
    // Siblings with a common name prefix are separate folders.
    const { cli } = projectDir({ stagingUri: "./lake-staging/", datalakeUri: "./lake/" });
    expect((await cli("status")).code).toBe(0);
  });
});

describe("task commands say what state the step or task is in", () => {
  it("before planning, for a succeeded task, and for an unknown task", async () => {
    const { dir, cli } = projectDir();
    await writeOrdersSnapshot(createStorage(), `${dir}/snapshot/`, { rows: 3_000, files: 2 });

    const early = await cli("step", "2.3");
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("is not planned yet");
    expect(early.stderr).toContain("snaplake step 2.1");
    oneLine(early.stderr);
    const earlyTask = await cli("step", "1.3", "--task", "abc");
    expect(earlyTask.code).toBe(1);
    expect(earlyTask.stderr).toContain("snaplake step 1.1");

    const ran = await cli("run", "--json");
    expect(ran.code).toBe(0);
    const listed = await cli("step", "2.2", "--json");
    expect(JSON.parse(listed.stdout)).toEqual([]); // nothing left to do
    const status = JSON.parse((await cli("status", "--json")).stdout);
    expect(status.steps["2.3-staging-to-datalake"].succeeded).toBeGreaterThan(0);

    // Compaction tasks are named by their group's fingerprint, as their manifests are.
    const groups = readdirSync(join(dir, "staging", "orders", "manifests", "partition-file-groups"));
    const done = groups[0]!.replace(/\.json$/, "");
    const again = await cli("step", "2.3", "--task", done);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`task ${done} of step 2.3-staging-to-datalake already succeeded`);
    const againJson = JSON.parse((await cli("step", "compact", "--task", done, "--json")).stdout);
    expect(againJson).toMatchObject({ taskId: done, status: "succeeded" });

    const tasks = await cli("step", "1.3", "--task", "missing-task-id");
    expect(tasks.code).toBe(1);
    expect(tasks.stdout).toContain("has no task missing-task-id");
    expect(tasks.stdout).toContain("snaplake step 1.2");
  }, 60_000);
});

describe("zero-row inputs", () => {
  const csv = "order_id,region\n1,eu\n2,us\n3,eu\n";
  const ndjson = '{"order_id":1,"region":"eu"}\n{"order_id":2,"region":"us"}\n{"order_id":3,"region":"eu"}\n';
  const emptyParquet = () =>
    pl
      .DataFrame({ order_id: pl.Series("order_id", [], pl.Utf8), region: pl.Series("region", [], pl.Utf8) })
      .writeParquet();
  const dataParquet = () => pl.DataFrame({ order_id: [1, 2, 3], region: ["eu", "us", "eu"] }).writeParquet();
  const cases: Array<[string, string, Record<string, Buffer | string>]> = [
    ["csv", "csv", { "a.csv": csv, "header-only.csv": "order_id,region\n" }],
    [
      "csv.gz",
      "csv",
      {
        "a.csv.gz": gzipSync(csv),
        "empty.csv.gz": gzipSync(""),
        "header-only.csv.gz": gzipSync("order_id,region\n"),
      },
    ],
    ["ndjson", "ndjson", { "a.ndjson": ndjson, "blank.ndjson": "\n", "empty.ndjson.gz": gzipSync("") }],
    ["parquet", "parquet", { "a.parquet": dataParquet(), "no-rows.parquet": emptyParquet() }],
  ];

  it.each(cases)(
    "%s: an empty file adds no rows and no schema, and the run validates",
    async (_label, format, files) => {
      const { dir, cli } = projectDir({ reader: { format }, derivedColumns: [], partitionKeys: ["region"] });
      mkdirSync(join(dir, "snapshot"));
      for (const [name, content] of Object.entries(files))
        writeFileSync(join(dir, "snapshot", name), content);
      const ran = await cli("run", "--json");
      expect(ran.stderr).not.toContain("SCHEMA_CONFLICT");
      expect(ran.code).toBe(0);
      const summary = JSON.parse(ran.stdout);
      expect(summary.manifest.files).toBe(Object.keys(files).length);
      expect(summary.validation.ok).toBe(true);
      expect(summary.validation.lake.rows).toBe(3);
      expect(summary.validation.lake.partitions).toBe(2);
    },
    60_000,
  );

  it("a group of empty files only stages nothing and still validates", async () => {
    const { dir, cli } = projectDir({
      reader: { format: "csv" },
      derivedColumns: [],
      partitionKeys: ["region"],
    });
    mkdirSync(join(dir, "snapshot"));
    writeFileSync(join(dir, "snapshot", "header-only.csv"), "order_id,region\n");
    writeFileSync(join(dir, "snapshot", "empty.csv.gz"), gzipSync(""));
    const ran = await cli("run", "--json");
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout).validation).toMatchObject({ ok: true, lake: { rows: 0 } });
  }, 60_000);
});

describe("a forced compaction plan is not a dead end", () => {
  const rows = (from: number) =>
    Array.from({ length: 125 }, (_, i) => `${from + i},${i % 2 ? "eu" : "us"}`).join("\n");
  const csvGz = (from: number) => gzipSync(`order_id,region\n${rows(from)}\n`);

  function forcedProject() {
    const project = projectDir({
      reader: { format: "csv" },
      derivedColumns: [],
      partitionKeys: ["region"],
      targetFileGroupSize: 1, // one group per file
      tracker: { maxAttempts: 1 },
    });
    mkdirSync(join(project.dir, "snapshot"));
    writeFileSync(join(project.dir, "snapshot", "a.csv.gz"), csvGz(0));
    return project;
  }

  async function expectEveryIdOnce(dir: string) {
    const lake = readdirSync(join(dir, "lake"), { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith(".parquet"),
    );
    const ids = pl
      .concat(lake.map((f) => pl.readParquet(join(dir, "lake", f))))
      .getColumn("order_id")
      .toArray();
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
  }

  it("a group that failed for a passing reason: run --force, retry, run re-plans and the lake gets every row", async () => {
    const { dir, cli } = forcedProject();
    const b = join(dir, "snapshot", "b.csv.gz");
    const away = join(dir, "b.csv.gz"); // outside the snapshot folder
    writeFileSync(b, csvGz(125));
    expect((await cli("step", "1.1")).code).toBe(0);
    renameSync(b, away); // gone while step 1.3 reads it, back unchanged later

    const first = await cli("run");
    expect(first.code).toBe(1);
    expect(first.stderr).toContain("is not complete");
    expect(first.stderr).toContain("b.csv.gz");
    expect(first.stderr).toContain("validation fails until they succeed");

    const forced = await cli("run", "--force", "--json");
    expect(forced.code, forced.stderr).toBe(1);
    expect(forced.stdout, forced.stderr).not.toBe("");
    expect(JSON.parse(forced.stdout).lake.rows).toBe(125);

    renameSync(away, b);
    expect((await cli("retry")).stdout).toContain("2 task(s) reset"); // the group and the failed check
    const fixed = await cli("run", "--json");
    expect(fixed.stderr).not.toMatch(/snaplake: (?!tracker: )/);
    expect(fixed.code).toBe(0);
    expect(JSON.parse(fixed.stdout).validation).toMatchObject({
      ok: true,
      lake: { rows: 250, partitions: 2 },
    });
    await expectEveryIdOnce(dir); // the groups of the forced plan left nothing behind
    expect((await cli("run")).code).toBe(0); // and again, nothing changes
  }, 180_000);

  it("a truncated file fixed after run --force is a changed snapshot: refused naming it, then reset repairs it", async () => {
    const { dir, cli } = forcedProject();
    const good = csvGz(125);
    writeFileSync(join(dir, "snapshot", "b.csv.gz"), good.subarray(0, good.length - 20)); // truncated
    expect((await cli("run")).code).toBe(1);
    expect(JSON.parse((await cli("run", "--force", "--json")).stdout).lake.rows).toBe(125);

    writeFileSync(join(dir, "snapshot", "b.csv.gz"), good);
    await cli("retry");
    const refused = await cli("run");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("b.csv.gz");
    expect(refused.stderr).toContain("snaplake reset --from-step 0");

    expect((await cli("reset", "--from-step", "0", "--yes")).code).toBe(0);
    const repaired = await cli("run", "--json");
    expect(repaired.code).toBe(0);
    expect(JSON.parse(repaired.stdout).validation).toMatchObject({ ok: true, lake: { rows: 250 } });
    await expectEveryIdOnce(dir);
  }, 180_000);
});

describe("a changed config is refused until the project is reset", () => {
  const csv = (from: number, n: number) =>
    `order_id,region\n${Array.from({ length: n }, (_, i) => `${from + i},${i % 2 ? "eu" : "us"}`).join("\n")}\n`;

  function csvProject(overrides: Record<string, unknown>) {
    const project = projectDir({ reader: { format: "csv" }, derivedColumns: [], ...overrides });
    mkdirSync(join(project.dir, "snapshot"));
    writeFileSync(join(project.dir, "snapshot", "a.csv"), csv(0, 100));
    writeFileSync(join(project.dir, "snapshot", "b.csv"), csv(100, 50));
    const edit = (changes: Record<string, unknown>) => {
      const config = JSON.parse(readFileSync(project.file, "utf8"));
      writeFileSync(project.file, JSON.stringify({ ...config, ...changes }));
    };
    const lakeIds = () =>
      readdirSync(join(project.dir, "lake"), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".parquet"))
        .flatMap((f) =>
          pl
            .readParquet(join(project.dir, "lake", f))
            .getColumn("order_id")
            .toArray(),
        );
    return { ...project, edit, lakeIds };
  }

  it("include changed after step 0: refused naming the field (exit 2); reset from step 0, then the run completes", async () => {
    const { cli, edit, lakeIds } = csvProject({ partitionKeys: ["region"] });
    expect((await cli("run")).code).toBe(0);
    expect(lakeIds()).toHaveLength(150);

    edit({ snapshot: { uri: "./snapshot/", include: "a.*" } });
    const refused = await cli("run");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("in: snapshot.include.");
    expect(refused.stderr).toContain("snaplake reset --config <file> --from-step 0-manifest");
    oneLine(refused.stderr);
    expect((await cli("status")).code).toBe(0); // looking is still allowed
    expect((await cli("validate")).code).toBe(2);

    const tooLate = await cli("reset", "--from-step", "1.3", "--yes");
    expect(tooLate.code).toBe(2);
    expect(tooLate.stderr).toContain("--from-step 0-manifest");
    const unconfirmed = await cli("reset");
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain("pass --yes");

    const reset = await cli("reset", "--yes", "--json");
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout).tasks).toBeGreaterThan(0);
    const ran = await cli("run", "--json");
    expect(ran.code).toBe(0);
    const summary = JSON.parse(ran.stdout);
    expect(summary.manifest.files).toBe(1);
    expect(summary.validation).toMatchObject({ ok: true, lake: { rows: 100 } });
    expect(
      lakeIds()
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 100 }, (_, i) => i)); // nothing left of b.csv
  }, 90_000);

  it("partitionKeys changed: reset from step 1.3 keeps the manifest and plan, and the lake is rebuilt once", async () => {
    const { cli, edit, lakeIds, dir } = csvProject({ partitionKeys: ["region"] });
    expect((await cli("run")).code).toBe(0);
    const manifest = readFileSync(
      join(dir, "staging", "orders", "manifests", "snapshot", "manifest-summary.json"),
    );

    edit({ partitionKeys: [] });
    const refused = await cli("step", "2.3");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("in: partitionKeys.");
    expect((await cli("reset", "--from-step", "2.1", "--yes")).code).toBe(2);
    expect((await cli("reset", "--from-step", "1.3", "--yes")).code).toBe(0);
    const ran = await cli("run", "--json");
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout).validation).toMatchObject({ ok: true, lake: { rows: 150, partitions: 1 } });
    expect(new Set(lakeIds()).size).toBe(150);
    expect(lakeIds()).toHaveLength(150);
    expect(readdirSync(join(dir, "lake"))).not.toContain("region=eu");
    expect(
      readFileSync(join(dir, "staging", "orders", "manifests", "snapshot", "manifest-summary.json")),
    ).toEqual(manifest);

    // A compaction-only setting: reset from 2.3 re-runs only compaction.
    edit({ compression: "snappy" });
    expect((await cli("run")).code).toBe(2);
    expect((await cli("reset", "--from-step", "2.3", "--yes")).code).toBe(0);
    expect((await cli("run")).code).toBe(0);
    expect(lakeIds()).toHaveLength(150);
  }, 90_000);
});
