/**
 * The live terminal view of a run, for people (stderr on a TTY): one line per finished step, and for the
 * step under way its tasks done and failed, rows and MB processed, throughput, elapsed time, ETA and what
 * each worker is on. Log lines are written above the live view in human form (see `humanLogLine`), so they
 * never tear it apart. At the end, `describeRunTable` sums the run up per step.
 */
import bytes from "bytes";
import { createLogUpdate } from "log-update";
import type { ActivityEvent, ProgressEvent, RunSummary } from "../project.js";
import { Step, type StepId } from "../steps/catalogue.js";
import { tableVersionName } from "../table/types.js";

const STEP_LABELS: Record<StepId, string> = {
  [Step.manifest]: "0   manifest",
  [Step.planSnapshotToStaging]: "1.1 plan snapshot groups",
  [Step.snapshotToStaging]: "1.3 process snapshot groups",
  [Step.planStagingToDatalake]: "2.1 plan compaction",
  [Step.stagingToDatalake]: "2.3 compact partitions",
  [Step.validate]: "3   validate",
  [Step.commit]: "4   commit",
};

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** What the display knows of one step of this run. */
export interface StepRecord {
  step: StepId;
  startedAt: number;
  endedAt?: number;
  ok?: boolean;
  /** Group steps: every task, those done before this run, and their input bytes. */
  tasks: number;
  tasksDone: number;
  bytesTotal: number;
  bytesDoneBefore: number;
  /** This run's work: tasks that succeeded, failed for good (all runs), rows read and input bytes covered. */
  succeeded: number;
  failed: number;
  /** Tasks of the step no longer worked on (succeeded or failed for good), before and during this run. */
  finished: number;
  rows: number;
  bytes: number;
  files?: number;
  /** Task id → what the worker on it is doing. */
  active: Map<string, string>;
}

export class RunDisplay {
  private readonly update: ReturnType<typeof createLogUpdate>;
  private readonly steps = new Map<StepId, StepRecord>();
  private current: StepRecord | undefined;
  private status: string;
  private frame = 0;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    opening: string,
  ) {
    this.update = createLogUpdate(stream);
    this.status = opening;
    this.timer = setInterval(() => this.render(), 200);
    this.timer.unref();
    this.render();
  }

  /** Writes a line above the live view (which is drawn again below it). */
  line(text: string): void {
    if (this.stopped) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.update.clear();
    this.stream.write(`${text}\n`);
    this.render();
  }

  /** A pino destination: each JSON log line is written above the live view in human form. */
  readonly logSink = {
    write: (chunk: string): void => {
      for (const json of chunk.split("\n")) if (json.trim()) this.line(humanLogLine(json));
    },
  };

  /** Shown (with a spinner) while no step is under way. */
  setStatus(text: string): void {
    this.status = text;
    this.render();
  }

  readonly onActivity = (event: ActivityEvent): void => {
    if (event.type === "step-started") {
      const record: StepRecord = {
        step: event.step,
        startedAt: Date.now(),
        tasks: event.tasks ?? 0,
        tasksDone: event.tasksDone ?? 0,
        bytesTotal: event.bytes ?? 0,
        bytesDoneBefore: event.bytesDone ?? 0,
        succeeded: 0,
        failed: 0,
        finished: event.tasksDone ?? 0,
        rows: 0,
        bytes: 0,
        active: new Map(),
      };
      this.steps.set(event.step, record);
      this.current = record;
    } else if (event.type === "task-started") {
      this.steps.get(event.step)?.active.set(event.taskId, event.label);
    } else {
      const record = this.steps.get(event.step);
      if (!record) return;
      record.endedAt = Date.now();
      record.ok = event.ok;
      if (event.rows !== undefined) record.rows = event.rows;
      if (event.files !== undefined) record.files = event.files;
      record.active.clear();
      if (this.current === record) this.current = undefined;
      this.status = "next step ...";
      this.line(finishedLine(record));
      return;
    }
    this.render();
  };

  readonly onProgress = (event: ProgressEvent): void => {
    const record = this.steps.get(event.step);
    if (!record) return;
    record.active.delete(event.taskId);
    record.tasks = event.total;
    if (event.outcome === "succeeded") {
      record.succeeded++;
      record.rows += event.rows ?? 0;
      record.bytes += event.bytes ?? 0;
    }
    record.failed = event.failed;
    record.finished = event.finished;
    this.render();
  };

  /** The steps this run went through, in order. */
  records(): StepRecord[] {
    return [...this.steps.values()];
  }

  /** Clears the live view for good; later lines are plain writes. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.update.clear();
    this.update.done();
  }

  private render(): void {
    if (this.stopped) return;
    this.frame = (this.frame + 1) % SPINNER.length;
    const spin = SPINNER[this.frame];
    const record = this.current;
    if (!record) {
      this.update(`${spin} ${this.status}`);
      return;
    }
    const lines = [`${spin} ${liveLine(record)}`];
    for (const label of record.active.values()) lines.push(`    worker on ${label}`);
    this.update(lines.join("\n"));
  }
}

function seconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

const count = (n: number) => n.toLocaleString("en-US");
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The step under way: for a group step its tasks, elapsed time and ETA, then rows, MB and throughput. */
export function liveLine(record: StepRecord, now = Date.now()): string {
  const elapsed = now - record.startedAt;
  const label = STEP_LABELS[record.step];
  if (record.tasks === 0) return `${label}  elapsed ${seconds(elapsed)}`;
  const done = record.finished;
  const secs = Math.max(elapsed / 1000, 0.001);
  const remaining = Math.max(0, record.bytesTotal - record.bytesDoneBefore - record.bytes);
  const eta = record.bytes > 0 ? seconds((remaining / (record.bytes / secs)) * 1000) : "…";
  const failed = record.failed > 0 ? `, ${record.failed} failed` : "";
  // Two short lines rather than one long one, so an 80-column terminal does not wrap them.
  return [
    `${label}  ${done}/${record.tasks} tasks${failed}  elapsed ${seconds(elapsed)}  ETA ${eta}`,
    `    ${count(record.rows)} rows, ${mb(record.bytesDoneBefore + record.bytes)} of ${mb(record.bytesTotal)}` +
      `  ${count(Math.round(record.rows / secs))} rows/s, ${(record.bytes / 1e6 / secs).toFixed(1)} MB/s`,
  ].join("\n");
}

function finishedLine(record: StepRecord): string {
  const mark = record.ok ? "✔" : "✖";
  const time = seconds((record.endedAt ?? Date.now()) - record.startedAt);
  const parts = [`${mark} ${STEP_LABELS[record.step].padEnd(28)} ${time.padStart(7)}`];
  if (record.tasks > 0) {
    const failed = record.failed > 0 ? `, ${record.failed} failed` : "";
    const before = record.tasksDone > 0 ? ` (${record.tasksDone} done before)` : "";
    parts.push(`${record.finished}/${record.tasks} tasks${failed}${before}`);
  }
  if (record.rows > 0) parts.push(`${count(record.rows)} rows`);
  if (record.files !== undefined) parts.push(`${count(record.files)} file${record.files === 1 ? "" : "s"}`);
  return parts.join("  ");
}

/** Pino's JSON fields that a person does not need to see. */
const HIDDEN_LOG_FIELDS = new Set(["level", "time", "pid", "hostname", "name", "msg", "err"]);
const LEVEL_NAMES: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/**
 * One pino JSON line as a person reads it: level, message, the other fields as `key=value`, and the error's
 * class, code and message (its stack only when pino kept one, at debug level).
 */
export function humanLogLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = LEVEL_NAMES[Number(entry.level)] ?? String(entry.level);
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN_LOG_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  const err = entry.err as { type?: string; code?: string; message?: string; stack?: string } | undefined;
  const error = err
    ? `: ${err.type ?? "Error"}${err.code ? ` [${err.code}]` : ""}: ${err.message ?? ""}${err.stack ? `\n${err.stack}` : ""}`
    : "";
  return `${level.padEnd(5)} ${String(entry.msg ?? "")}${fields.length ? ` (${fields.join(", ")})` : ""}${error}`;
}

/**
 * The end of a run for people: per step its time, tasks, rows and files; then the lake (partitions, files,
 * size, rows), the bad rows, the duplicates removed, the validation verdict and the table version.
 */
export function describeRunTable(records: readonly StepRecord[], summary: RunSummary): string {
  const header = ["step", "time", "tasks", "rows", "files"];
  const rows = records.map((r) => [
    STEP_LABELS[r.step],
    r.endedAt === undefined ? "-" : seconds(r.endedAt - r.startedAt),
    r.tasks > 0 ? `${r.finished}/${r.tasks}` : "1",
    r.rows > 0 ? count(r.rows) : "-",
    r.files === undefined ? "-" : count(r.files),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const format = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ");
  const v = summary.validation;
  const dropped = Object.entries(v.staging.dropped)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${count(n)} ${reason}`);
  const c = summary.commit;
  const table =
    c.format === "hive"
      ? "hive lake (files visible as written, no versions)"
      : `${tableVersionName(c.format, c.version)}${c.committed ? ` (+${count(c.filesAdded)} files)` : " (already committed)"}`;
  return [
    format(header),
    format(widths.map((w) => "-".repeat(w))),
    ...rows.map(format),
    "",
    `lake:        ${count(v.lake.partitions)} partitions, ${count(v.lake.files)} files, ${bytes.format(v.lake.bytes, { unitSeparator: " " })}, ${count(v.lake.rows)} rows`,
    `bad rows:    ${count(v.staging.badRows)}`,
    `duplicates:  ${count(v.lake.duplicatesRemoved)} removed in compaction${dropped.length ? `; dropped while reading: ${dropped.join(", ")}` : ""}`,
    `validation:  ${v.ok ? "passed" : "FAILED"}`,
    `table:       ${table}`,
  ].join("\n");
}
