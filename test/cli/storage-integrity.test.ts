/**
 * The `snaplake` CLI (the built binary where the process's own environment or kills matter, else in this
 * process) on what a snapshot may name and what it leaves behind (issue 20, defects 2, 3 and 7): manifest entries confined to the snapshot's roots, symbolic links refused, changed and added
 * snapshot files reported, and no temp files left by killed runs. Embedded tracker, local folders, s3rver.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, inject, it } from "vitest";
import { builtFile, snaplake } from "../support/cli.js";
import { createTestBucket, testS3Client, uniqueName } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

const BIN = builtFile("cli/main.js");
const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");
const SECRET = "snaplake-test-secret-7f3a9c";
/** Each test starts whole CLI runs (a few seconds each, much more on a loaded machine). */
const CLI_RUNS_TIMEOUT_MS = 240_000;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout and stderr together. */
  output: string;
}

const projectDir = () => tempDir("snaplake-integrity-");

function start(args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, CI: "1", SNAPLAKE_TEST_SECRET: SECRET, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let stdout = "";
  child.stdout?.on("data", (d) => {
    output += d;
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const done = new Promise<Result>((ok) =>
    child.on("close", (code, signal) => ok({ code, signal, stdout, output })),
  );
  return { child, done };
}

const run = (args: string[], cwd: string, extraEnv?: NodeJS.ProcessEnv) => start(args, cwd, extraEnv).done;

/**
 * The same run in this process, as if started in `cwd` (the config file by its path). Not for the tests
 * about /proc/self/environ: that file holds the environment the process started with, this one's.
 */
async function runHere(args: string[], cwd: string): Promise<Result> {
  const withPath = args.map((arg) => (arg === "snaplake.config.json" ? join(cwd, arg) : arg));
  const result = await snaplake(withPath, { SNAPLAKE_TEST_SECRET: SECRET });
  return { code: result.code, signal: null, stdout: result.stdout, output: result.stdout + result.stderr };
}

/** Every file below `folder` (relative paths), or [] when it does not exist. */
function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return (readdirSync(folder, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1));
}

function ndjson(rows: Array<Record<string, unknown>>): string {
  return rows.map((row) => JSON.stringify(row)).join("\n") + "\n";
}

function writeConfig(dir: string, overrides: Record<string, unknown> = {}): void {
  const config = {
    projectId: uniqueName("integrity"),
    snapshot: { uri: "./snap/" },
    reader: { format: "ndjson" },
    stagingUri: "./staging/",
    datalakeUri: "./lake/",
    partitionKeys: ["region"],
    tracker: { leaseSeconds: 1, maxAttempts: 1 },
    ...overrides,
  };
  writeFileSync(join(dir, "snaplake.config.json"), JSON.stringify(config, null, 2));
}

/** A snapshot folder with two small NDJSON files. */
function writeSnapshot(dir: string): void {
  mkdirSync(join(dir, "snap"));
  writeFileSync(
    join(dir, "snap", "a.ndjson"),
    ndjson([
      { id: 1, region: "eu" },
      { id: 2, region: "us" },
    ]),
  );
  writeFileSync(join(dir, "snap", "b.ndjson"), ndjson([{ id: 3, region: "eu" }]));
}

/** A user's manifest (summary JSON + NDJSON file list) at `folder`, naming `uris`. */
function writeLocalManifest(folder: string, uris: string[]): string {
  mkdirSync(folder, { recursive: true });
  const list = join(folder, "files.ndjson");
  writeFileSync(list, ndjson(uris.map((uri) => ({ uri, etag: "x", size: 1 }))));
  const summary = join(folder, "summary.json");
  writeFileSync(summary, JSON.stringify({ manifest: list }));
  return summary;
}

describe("snaplake run: what a snapshot may name", { timeout: CLI_RUNS_TIMEOUT_MS }, () => {
  it("a manifest naming /proc/self/environ is refused, naming the entry and the roots, with nothing written", async () => {
    const dir = projectDir();
    const manifest = writeLocalManifest(join(dir, "manifest"), ["/proc/self/environ"]);
    writeConfig(dir, { snapshot: { manifestUri: manifest } });
    const result = await run(["run", "--config", "snaplake.config.json"], dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain("outside the snapshot's allowed roots");
    expect(result.output).toContain("/proc/self/environ");
    expect(result.output).toContain(`file://${dir}/manifest/`);
    expect(result.output).not.toContain(SECRET);
    expect(filesUnder(join(dir, "staging"))).toEqual([]);
    expect(filesUnder(join(dir, "lake"))).toEqual([]);
  });

  it("a manifest naming a file in another folder is refused, unless snapshot.allowedRoots lists that folder", async () => {
    const dir = projectDir();
    writeSnapshot(dir);
    const manifest = join(dir, "manifest", "summary.json");
    mkdirSync(join(dir, "manifest"));
    const files = ["a.ndjson", "b.ndjson"].map((name) => {
      const path = join(dir, "snap", name);
      const bytes = readFileSync(path);
      const etag = md5(bytes);
      return { uri: path, etag, size: bytes.length };
    });
    writeFileSync(join(dir, "manifest", "files.ndjson"), ndjson(files));
    writeFileSync(manifest, JSON.stringify({ manifest: join(dir, "manifest", "files.ndjson") }));

    writeConfig(dir, { snapshot: { manifestUri: "./manifest/summary.json" } });
    const refused = await runHere(["run", "--config", "snaplake.config.json"], dir);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain(`${dir}/snap/a.ndjson`);
    expect(refused.output).toContain("snapshot.allowedRoots");
    expect(filesUnder(join(dir, "staging"))).toEqual([]);

    // The same manifest with the folder listed (relative to the config file) converts every row.
    writeConfig(dir, { snapshot: { manifestUri: "./manifest/summary.json", allowedRoots: ["./snap/"] } });
    const ran = await runHere(["run", "--config", "snaplake.config.json", "--json"], dir);
    expect(ran.code, ran.output).toBe(0);
    expect(JSON.parse(ran.stdout).validation.lake.rows).toBe(3);
  });

  it("a manifest stored in S3 may not name a local path, whatever the roots", async () => {
    const dir = projectDir();
    const client = testS3Client();
    try {
      const bucket = await createTestBucket(client, "integrity");
      const list = ndjson([{ uri: "/proc/self/environ", etag: "x", size: 1 }]);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "m/files.ndjson", Body: list }));
      const summary = JSON.stringify({ manifest: `s3://${bucket}/m/files.ndjson` });
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "m/summary.json", Body: summary }));
      writeConfig(dir, {
        snapshot: { manifestUri: `s3://${bucket}/m/summary.json`, allowedRoots: ["/proc/"] },
        aws: { region: "us-east-1", s3Endpoint: inject("servers").s3, forcePathStyle: true },
      });
      const result = await run(["run", "--config", "snaplake.config.json"], dir, {
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: "S3RVER",
      });
      expect(result.code).toBe(1);
      expect(result.output).toContain("/proc/self/environ");
      expect(result.output).toContain("a manifest stored in S3 may name S3 objects only");
      expect(result.output).not.toContain(SECRET);
      expect(filesUnder(join(dir, "staging"))).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it("a symbolic link in the snapshot folder leading outside it is refused, with nothing written", async () => {
    const dir = projectDir();
    writeSnapshot(dir);
    mkdirSync(join(dir, "elsewhere"));
    writeFileSync(join(dir, "elsewhere", "secret.ndjson"), ndjson([{ id: 9, region: SECRET }]));
    symlinkSync(join(dir, "elsewhere", "secret.ndjson"), join(dir, "snap", "c.ndjson"));
    writeConfig(dir);
    const result = await runHere(["run", "--config", "snaplake.config.json"], dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain("outside the local storage roots");
    expect(result.output).toContain(`${dir}/snap/c.ndjson`);
    expect(filesUnder(join(dir, "staging"))).toEqual([]);
    expect(filesUnder(join(dir, "lake"))).toEqual([]);
  });

  it("a lake partition folder that is a symbolic link elsewhere is not written through", async () => {
    const dir = projectDir();
    writeSnapshot(dir);
    mkdirSync(join(dir, "lake"));
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), join(dir, "lake", "region=eu"));
    writeConfig(dir);
    const result = await runHere(["run", "--config", "snaplake.config.json"], dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`${dir}/lake/region=eu/`);
    expect(result.output).toContain("symbolic link");
    expect(readdirSync(join(dir, "elsewhere"))).toEqual([]);
  });
});

describe("snaplake run: the snapshot changed after planning", { timeout: CLI_RUNS_TIMEOUT_MS }, () => {
  it("a file overwritten after step 1.1 fails its group, naming the file and both etags", async () => {
    const dir = projectDir();
    writeSnapshot(dir);
    writeConfig(dir);
    for (const step of ["0", "1.1"])
      expect((await runHere(["step", step, "--config", "snaplake.config.json"], dir)).code).toBe(0);
    const before = md5(readFileSync(join(dir, "snap", "b.ndjson")));
    const changed = ndjson([
      { id: 3, region: "eu" },
      { id: 4, region: "eu" },
    ]);
    writeFileSync(join(dir, "snap", "b.ndjson"), changed);

    const result = await runHere(["run", "--config", "snaplake.config.json"], dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`${dir}/snap/b.ndjson changed after step 0 recorded it`);
    expect(result.output).toContain(before);
    expect(result.output).toContain(md5(Buffer.from(changed)));
    expect(filesUnder(join(dir, "lake"))).toEqual([]);
  });

  it("a file added after step 0 fails validation with SNAPSHOT_CHANGED, naming it and the fix", async () => {
    const dir = projectDir();
    writeSnapshot(dir);
    writeConfig(dir, { projectId: "late-file" });
    expect((await runHere(["step", "0", "--config", "snaplake.config.json"], dir)).code).toBe(0);
    writeFileSync(join(dir, "snap", "late.ndjson"), ndjson([{ id: 5, region: "us" }]));

    const result = await runHere(["run", "--config", "snaplake.config.json"], dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`${dir}/snap/late.ndjson`);
    expect(result.output).toContain("changed after step 0 listed it: 1 file(s) added");
    expect(result.output).toContain("new projectId");
    const validation = JSON.parse(
      readFileSync(
        join(dir, "staging", "late-file", "manifests", "validation", "validate-datalake-result.json"),
        "utf8",
      ),
    );
    expect(validation.ok).toBe(false);
    expect(validation.problems).toContain(
      `SNAPSHOT_CHANGED: file://${dir}/snap/late.ndjson was added after step 0`,
    );
  });
});

describe("snaplake run: killed runs leave no temp files", { timeout: CLI_RUNS_TIMEOUT_MS }, () => {
  it("after SIGKILLs mid-write and a final run, no .snaplake-tmp-* remains in staging or the lake, and nothing in $TMPDIR", async () => {
    const dir = projectDir();
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    mkdirSync(join(dir, "snap"));
    const regions = ["eu", "us", "apac", "latam", "africa", "mena"];
    for (let file = 0; file < 6; file++) {
      const rows = Array.from({ length: 30_000 }, (_, i) => ({
        id: file * 100_000 + i,
        region: regions[i % regions.length],
        payload: `row ${i} of file ${file}`.repeat(4),
      }));
      writeFileSync(join(dir, "snap", `part-${file}.ndjson`), ndjson(rows));
    }
    writeConfig(dir, {
      targetFileGroupSize: "3MB",
      targetParquetFileSize: "512KB",
      rowGroupSize: 10_000,
      tracker: { leaseSeconds: 1, maxAttempts: 20 },
    });
    const env = { TMPDIR: tmp };
    const tempFiles = () =>
      [...filesUnder(join(dir, "staging")), ...filesUnder(join(dir, "lake"))].filter((path) =>
        path.split("/").at(-1)?.startsWith(".snaplake-tmp-"),
      );
    const inTmp = () => readdirSync(tmp);

    // Kill runs the moment a temp file or sink folder of theirs exists: each kill leaves one behind.
    let kills = 0;
    let leftAfterKills = 0;
    for (let attempt = 0; attempt < 4; attempt++) {
      const { child, done } = start(["run", "--config", "snaplake.config.json"], dir, env);
      let killed = false;
      const deadline = Date.now() + 120_000;
      while (!killed && child.exitCode === null && Date.now() < deadline) {
        if (inTmp().length > 0 || tempFiles().length > 0) {
          child.kill("SIGKILL");
          killed = true;
        } else await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await done;
      if (!killed) break; // the run finished before any write was caught
      kills++;
      leftAfterKills += inTmp().length + tempFiles().length;
    }
    expect(kills).toBeGreaterThan(0);
    expect(leftAfterKills).toBeGreaterThan(0); // SIGKILL runs no cleanup: what is left, the next run removes

    const final = await run(["run", "--config", "snaplake.config.json", "--json"], dir, env);
    expect(final.code, final.output).toBe(0);
    expect(JSON.parse(final.stdout).validation.lake.rows).toBe(6 * 30_000);
    expect(tempFiles()).toEqual([]);
    expect(inTmp()).toEqual([]);
  });
});
