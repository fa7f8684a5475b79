/**
 * `snaplake report`: one self-contained HTML page about a project's run, with chart.js inlined (no CDN, so
 * it opens offline and can be mailed): a timeline of each step's tasks per worker, rows and bytes per
 * partition, lake file sizes against the target, bad rows by reason, duplicates, and validation per
 * partition. Everything comes from what the run left: the tracker's tasks, the bad-row files and the
 * validation result.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { z } from "zod";
import { readJsonIfPresent } from "../models/manifests.js";
import { type Project, ProjectNotTrackedError } from "../project.js";
import {
  ALL_STEPS,
  type PartitionGroupTaskOutput,
  SINGLE_TASK_ID,
  Step,
  type StepId,
} from "../steps/catalogue.js";

/** The part of the validation result the report shows, parsed at the boundary. */
const validationSchema = z.object({
  ok: z.boolean(),
  checkedAt: z.string(),
  staging: z.object({ rowsRead: z.number(), badRows: z.number(), dropped: z.record(z.string(), z.number()) }),
  lake: z.object({
    partitions: z.number(),
    files: z.number(),
    bytes: z.number(),
    rows: z.number(),
    duplicatesRemoved: z.number(),
  }),
  partitions: z.array(
    z.object({
      partition: z.string(),
      stagingRows: z.number(),
      duplicatesRemoved: z.number(),
      lakeRows: z.number(),
      lakeFiles: z.number(),
      lakeBytes: z.number(),
      ok: z.boolean(),
    }),
  ),
  problems: z.array(z.string()),
});

const badRowSchema = z.object({ errors: z.array(z.unknown()).default([]) });

/** One bar of the timeline: a task from its (last) start to its end, in seconds since the run began. */
export interface TimelineTask {
  step: StepId;
  lane: string;
  taskId: string;
  status: string;
  start: number;
  end: number;
}

export interface RunReport {
  projectId: string;
  generatedAt: string;
  timeline: TimelineTask[];
  partitions: Array<{ partition: string; rows: number; bytes: number }>;
  lakeFiles: Array<{ file: string; bytes: number }>;
  targetParquetFileSize: number;
  badRowsByReason: Record<string, number>;
  duplicates: Record<string, number>;
  validation: z.infer<typeof validationSchema> | null;
}

/** Gathers the report's numbers from the project's tracker and storage. */
export async function collectRunReport(project: Project): Promise<RunReport> {
  const { tracker, projectId, storage, locations } = project;
  const manifest = await tracker.get(projectId, Step.manifest, SINGLE_TASK_ID);
  if (manifest?.status !== "succeeded") throw new ProjectNotTrackedError(projectId, "report on");
  const tasks = (await Promise.all(ALL_STEPS.map((step) => tracker.list(projectId, step)))).flat();
  const validation = (await readJsonIfPresent(storage, locations.validationResult, validationSchema)) ?? null;

  const badRowsByReason: Record<string, number> = {};
  for await (const object of storage.list(locations.badRowsFolder)) {
    const text = (await storage.get(object.uri)).toString("utf8");
    text.split("\n").forEach((line, index) => {
      if (!line.trim()) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new SyntaxError(`${object.uri} line ${index + 1} is not JSON`);
      }
      const reason = badRowReason(badRowSchema.parse(parsed).errors[0]);
      badRowsByReason[reason] = (badRowsByReason[reason] ?? 0) + 1;
    });
  }

  const lakeFiles = tasks
    .filter((t) => t.step === Step.stagingToDatalake && t.status === "succeeded")
    .flatMap((t) => (t.output as Partial<PartitionGroupTaskOutput>).lakeFiles ?? [])
    .map((f) => ({ file: f.uri.slice(locations.datalake.length), bytes: f.size }))
    .sort((a, b) => a.file.localeCompare(b.file));

  const duplicates: Record<string, number> = { ...(validation?.staging.dropped ?? {}) };
  if (validation) duplicates["removed in compaction (record id)"] = validation.lake.duplicatesRemoved;

  return {
    projectId,
    generatedAt: new Date().toISOString(),
    timeline: timeline(tasks),
    partitions: (validation?.partitions ?? []).map((p) => ({
      partition: p.partition,
      rows: p.lakeRows,
      bytes: p.lakeBytes,
    })),
    lakeFiles,
    targetParquetFileSize: project.config.targetParquetFileSize,
    badRowsByReason,
    duplicates,
    validation,
  };
}

/** A bad row's reason: its first error's code (the readers' errors are `{ code, message, ... }`). */
function badRowReason(error: unknown): string {
  if (typeof error === "string") return error.split(":")[0] ?? error;
  if (typeof error === "object" && error !== null) {
    const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
    for (const value of [code, name, message]) if (typeof value === "string" && value) return value;
  }
  return "unknown";
}

/**
 * Tasks laid out in lanes: per step and per process (lease owner), each task takes the first lane free
 * at its start, so a lane is one worker slot doing one task at a time.
 */
function timeline(
  tasks: ReadonlyArray<{
    step: string;
    taskId: string;
    status: string;
    startedAt?: string;
    finishedAt?: string;
    leaseOwner?: string;
  }>,
): TimelineTask[] {
  const timed = tasks
    .filter((t) => t.startedAt && t.finishedAt)
    .map((t) => ({ ...t, from: Date.parse(t.startedAt ?? ""), to: Date.parse(t.finishedAt ?? "") }))
    .sort((a, b) => a.from - b.from);
  const origin = Math.min(...timed.map((t) => t.from));
  const lanesEnd = new Map<string, number[]>();
  const owners = new Set(timed.map((t) => t.leaseOwner ?? ""));
  return timed.map((t) => {
    const key = `${t.step}|${t.leaseOwner ?? ""}`;
    const ends = lanesEnd.get(key) ?? [];
    lanesEnd.set(key, ends);
    let lane = ends.findIndex((end) => end <= t.from);
    if (lane === -1) lane = ends.push(t.to) - 1;
    else ends[lane] = t.to;
    const owner = owners.size > 1 && t.leaseOwner ? ` ${t.leaseOwner}` : "";
    return {
      step: t.step as StepId,
      lane: `${t.step.split("-")[0]}${owner} worker ${lane + 1}`,
      taskId: t.taskId,
      status: t.status,
      start: (t.from - origin) / 1000,
      end: (t.to - origin) / 1000,
    };
  });
}

/** chart.js's UMD build, read from the installed package, to inline in the page. */
async function chartJsSource(): Promise<string> {
  const main = createRequire(import.meta.url).resolve("chart.js");
  return readFile(join(dirname(main), "chart.umd.min.js"), "utf8");
}

/** Text safe inside a <script> element: no "</script>" or "<!--" can end it early. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page: figures and a few numbers up top, one canvas per chart, the data as JSON, the charts drawn from it. */
export async function renderRunReport(report: RunReport): Promise<string> {
  const v = report.validation;
  const verdict = v ? (v.ok ? "passed" : "FAILED") : "not validated yet";
  const figures = v
    ? `${v.lake.rows.toLocaleString("en-US")} rows in ${v.lake.files} files over ${v.lake.partitions} partitions (${(v.lake.bytes / 1e6).toFixed(1)} MB); ${v.staging.badRows} bad rows; validation ${verdict} (${v.checkedAt})`
    : `validation ${verdict}`;
  const problems = v?.problems.length
    ? `<ul class="problems">${v.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul>`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>snaplake run report: ${escapeHtml(report.projectId)}</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 4px; } .figures { color: #4a5568; margin: 0 0 20px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
  section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 12px 16px; }
  h2 { font-size: 15px; margin: 0 0 8px; } .chart { position: relative; height: 320px; }
  .verdict-passed { color: #2f855a; } .verdict-FAILED { color: #c53030; } .problems { color: #c53030; }
</style>
</head>
<body>
<h1>snaplake run report: ${escapeHtml(report.projectId)}</h1>
<p class="figures">${escapeHtml(figures)} <span class="verdict-${verdict.split(" ")[0]}">●</span></p>
${problems}
<div class="grid">
  <section><h2>Tasks per worker, by step (seconds since the run began)</h2><div class="chart"><canvas id="chart-timeline"></canvas></div></section>
  <section><h2>Rows and bytes per partition</h2><div class="chart"><canvas id="chart-partitions"></canvas></div></section>
  <section><h2>Lake file sizes against the target</h2><div class="chart"><canvas id="chart-file-sizes"></canvas></div></section>
  <section><h2>Bad rows by reason</h2><div class="chart"><canvas id="chart-bad-rows"></canvas></div></section>
  <section><h2>Duplicates</h2><div class="chart"><canvas id="chart-duplicates"></canvas></div></section>
  <section><h2>Validation per partition (rows)</h2><div class="chart"><canvas id="chart-validation"></canvas></div></section>
</div>
<script>${scriptSafe(await chartJsSource())}</script>
<script id="report-data" type="application/json">${scriptSafe(JSON.stringify(report))}</script>
<script>${scriptSafe(DRAW_CHARTS)}</script>
</body>
</html>
`;
}

/** The page's own script: draws every chart from the report data. */
const DRAW_CHARTS = `
const report = JSON.parse(document.getElementById("report-data").textContent);
const palette = ["#3182ce", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#d69e2e", "#e53e3e"];
const common = { responsive: true, maintainAspectRatio: false, animation: false };
const stepColor = {};
for (const t of report.timeline) stepColor[t.step] ??= palette[Object.keys(stepColor).length % palette.length];
const lanes = [...new Set(report.timeline.map((t) => t.lane))];
new Chart(document.getElementById("chart-timeline"), {
  type: "bar",
  data: {
    labels: lanes,
    datasets: Object.keys(stepColor).map((step) => ({
      label: step,
      backgroundColor: stepColor[step],
      data: report.timeline.filter((t) => t.step === step).map((t) => ({ x: [t.start, t.end], y: t.lane, taskId: t.taskId })),
      grouped: false,
      borderSkipped: false,
    })),
  },
  options: { ...common, indexAxis: "y", scales: { x: { title: { display: true, text: "seconds" } } } },
});
new Chart(document.getElementById("chart-partitions"), {
  type: "bar",
  data: {
    labels: report.partitions.map((p) => p.partition),
    datasets: [
      { label: "rows", data: report.partitions.map((p) => p.rows), backgroundColor: palette[0], yAxisID: "rows" },
      { label: "bytes", data: report.partitions.map((p) => p.bytes), backgroundColor: palette[1], yAxisID: "bytes" },
    ],
  },
  options: { ...common, scales: { rows: { position: "left" }, bytes: { position: "right", grid: { drawOnChartArea: false } } } },
});
new Chart(document.getElementById("chart-file-sizes"), {
  data: {
    labels: report.lakeFiles.map((f) => f.file),
    datasets: [
      { type: "bar", label: "file size (bytes)", data: report.lakeFiles.map((f) => f.bytes), backgroundColor: palette[2] },
      { type: "line", label: "target", data: report.lakeFiles.map(() => report.targetParquetFileSize), borderColor: palette[7], pointRadius: 0 },
    ],
  },
  // File paths are long: named in the tooltip, not under the axis.
  options: { ...common, scales: { x: { ticks: { display: false }, title: { display: true, text: report.lakeFiles.length + " lake files" } } } },
});
const badReasons = Object.keys(report.badRowsByReason);
new Chart(document.getElementById("chart-bad-rows"), {
  type: "bar",
  data: { labels: badReasons, datasets: [{ label: "bad rows", data: badReasons.map((r) => report.badRowsByReason[r]), backgroundColor: palette[7] }] },
  options: { ...common, indexAxis: "y" },
});
const dupKinds = Object.keys(report.duplicates);
new Chart(document.getElementById("chart-duplicates"), {
  type: "bar",
  data: { labels: dupKinds, datasets: [{ label: "rows removed", data: dupKinds.map((k) => report.duplicates[k]), backgroundColor: palette[3] }] },
  options: { ...common, indexAxis: "y" },
});
const parts = report.validation ? report.validation.partitions : [];
new Chart(document.getElementById("chart-validation"), {
  type: "bar",
  data: {
    labels: parts.map((p) => (p.ok ? "✔ " : "✖ ") + p.partition),
    datasets: [
      { label: "staged rows", data: parts.map((p) => p.stagingRows), backgroundColor: palette[0] },
      { label: "lake rows", data: parts.map((p) => p.lakeRows), backgroundColor: parts.map((p) => (p.ok ? palette[2] : palette[7])) },
      { label: "duplicates removed", data: parts.map((p) => p.duplicatesRemoved), backgroundColor: palette[3] },
    ],
  },
  options: common,
});
`;
