/**
 * Issue 19, item 5: `snaplake report` through the CLI (in this process) on a generated Snowplow archive (bad lines,
 * duplicates, several partitions), opened in headless Debian chromium (puppeteer-core): it renders with no
 * console errors, without any network request, and its charts hold the run's numbers, read back through
 * `Chart.getChart(canvas).data` and compared with the validation result, the lake folder and the bad-row files.
 * SNAPLAKE_UPDATE_SCREENSHOT=1 also writes the screenshot to docs/report.png.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";
import { describe, expect, it } from "vitest";
import { writeEnrichedArchive } from "../../src/snowplow/generator.js";
import { snaplake } from "../support/cli.js";
import { uniqueName } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

const CHROMIUM = process.env.SNAPLAKE_CHROMIUM ?? "/usr/bin/chromium";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

interface ChartData {
  labels: string[];
  datasets: Array<{ label: string; data: unknown[] }>;
}

describe("snaplake report", () => {
  it("writes one HTML page whose charts hold the run's numbers, rendering in chromium without errors", async () => {
    const dir = tempDir("snaplake-report-");
    await writeEnrichedArchive({
      root: join(dir, "archive"),
      runs: 2,
      filesPerRun: 2,
      linesPerFile: 400,
      badShare: 0.02,
      seed: 19,
      startTime: new Date("2024-03-01T23:59:00Z"),
    });
    const config = {
      projectId: uniqueName("report"),
      snapshot: { uri: "./archive/" },
      reader: { format: "snowplow-enriched", shred: false, dedupe: true },
      stagingUri: "./staging/",
      datalakeUri: "./lake/",
      partitionKeys: ["event_date", "event_name"],
      sortBy: ["collector_tstamp", "event_id"],
      targetFileGroupSize: "200KB",
      targetParquetFileSize: "64KB",
    };
    writeFileSync(join(dir, "snaplake.config.json"), JSON.stringify(config));
    const configFile = join(dir, "snaplake.config.json");
    const ran = await snaplake(["run", "--config", configFile, "--json"]);
    expect(ran.code, ran.stderr).toBe(0);
    const summary = JSON.parse(ran.stdout);
    const validation = summary.validation;

    const page = join(dir, "run.html");
    const reported = await snaplake(["report", "--config", configFile, "--out", page]);
    expect(reported.code, reported.stderr).toBe(0);
    expect(reported.stdout).toMatch(
      new RegExp(
        `^wrote ${page.replaceAll(".", "\\.")}: \\d+ tasks, \\d+ partitions, \\d+ lake files, validation passed$`,
        "m",
      ),
    );
    const html = readFileSync(join(dir, "run.html"), "utf8");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/cdn/i);

    // What the charts should show, from the run's own outputs.
    const lakeDir = join(dir, "lake");
    const lakeFiles = filesUnder(lakeDir)
      .map((path) => ({ file: relative(lakeDir, path), bytes: statSync(path).size }))
      .sort((a, b) => a.file.localeCompare(b.file));
    const badRows = filesUnder(join(dir, "staging", config.projectId, "bad-rows")).flatMap((path) =>
      readFileSync(path, "utf8")
        .split("\n")
        .filter((line) => line.trim()),
    );
    expect(badRows.length).toBeGreaterThan(0);
    expect(badRows.length).toBe(validation.staging.badRows);

    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 1200 });
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warn") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(String(error)));
      const requests: string[] = [];
      page.on("request", (request) => {
        if (!request.url().startsWith("file:")) requests.push(request.url());
      });
      await page.goto(`file://${join(dir, "run.html")}`, { waitUntil: "load" });
      const charts = await page.evaluate(() => {
        const read = (id: string) => {
          // Runs in the page: its globals, typed here by hand (the test's tsconfig has no DOM types).
          const page = globalThis as unknown as {
            Chart: { getChart(canvas: unknown): { data: unknown } | undefined };
            document: { getElementById(id: string): unknown };
          };
          const chart = page.Chart.getChart(page.document.getElementById(id));
          return chart ? JSON.parse(JSON.stringify(chart.data)) : null;
        };
        return Object.fromEntries(
          ["timeline", "partitions", "file-sizes", "bad-rows", "duplicates", "validation"].map((id) => [
            id,
            read(`chart-${id}`),
          ]),
        );
      });
      const screenshot = join(dir, "report.png") as `${string}.png`;
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);

      const partitions = charts.partitions as ChartData;
      const byPartition = Object.fromEntries(
        validation.partitions.map((p: { partition: string; lakeRows: number; lakeBytes: number }) => [
          p.partition,
          [p.lakeRows, p.lakeBytes],
        ]),
      );
      expect(partitions.labels.length).toBe(validation.lake.partitions);
      expect(
        Object.fromEntries(
          partitions.labels.map((label, i) => [
            label,
            [partitions.datasets[0]?.data[i], partitions.datasets[1]?.data[i]],
          ]),
        ),
      ).toEqual(byPartition);

      const sizes = charts["file-sizes"] as ChartData;
      expect(sizes.labels).toEqual(lakeFiles.map((f) => f.file));
      expect(sizes.datasets[0]?.data).toEqual(lakeFiles.map((f) => f.bytes));
      expect(new Set(sizes.datasets[1]?.data)).toEqual(new Set([64 * 1024]));

      const bad = charts["bad-rows"] as ChartData;
      const sum = (values: unknown[]) => values.reduce((a: number, b) => a + Number(b), 0);
      expect(sum(bad.datasets[0]?.data ?? [])).toBe(badRows.length);
      expect(bad.labels.length).toBeGreaterThan(1);

      const duplicates = charts.duplicates as ChartData;
      const dupes = Object.fromEntries(duplicates.labels.map((l, i) => [l, duplicates.datasets[0]?.data[i]]));
      expect(dupes).toEqual({
        ...validation.staging.dropped,
        "removed in compaction (record id)": validation.lake.duplicatesRemoved,
      });
      expect(validation.staging.dropped["natural-duplicates"]).toBeGreaterThan(0);

      const valid = charts.validation as ChartData;
      expect(valid.labels.every((l) => l.startsWith("✔ "))).toBe(true);
      expect(sum(valid.datasets[1]?.data ?? [])).toBe(validation.lake.rows);

      // Every task of the run is a bar: one per single-task step, one per group of steps 1.3 and 2.3.
      const timeline = charts.timeline as ChartData;
      const bars = timeline.datasets.flatMap((d) => d.data as Array<{ x: [number, number] }>);
      expect(bars.length).toBe(5 + summary.snapshotGroups.succeeded + summary.partitionGroups.succeeded);
      expect(timeline.datasets.map((d) => d.label)).toContain("1.3-snapshot-to-staging");
      expect(bars.every(({ x: [start, end] }) => start >= 0 && end >= start)).toBe(true);

      expect(statSync(screenshot).size).toBeGreaterThan(10_000);
      if (process.env.SNAPLAKE_UPDATE_SCREENSHOT === "1") {
        const docs = fileURLToPath(new URL("../../docs/report.png", import.meta.url));
        copyFileSync(screenshot, docs);
        expect(existsSync(docs)).toBe(true);
      }
    } finally {
      await browser.close();
    }
  }, 180_000);
});
