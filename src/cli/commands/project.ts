/**
 * The project commands: init, run, step, worker, status, retry, reset, validate, optimize.
 * Exit codes: 0 ok, 1 a step/task/validation failed, 2 bad configuration or arguments.
 * What a command needs beyond its options (polars, the AWS SDK) is imported when it runs, so the CLI
 * starts fast.
 */
import { writeFile } from "node:fs/promises";
import { type Command, Option } from "@commander-js/extra-typings";
import { ConfigError } from "../../errors.js";
import type { OptimizeSummary, RunSummary } from "../../project.js";
import {
  type GroupStep,
  isGroupStep,
  type SingleTaskStep,
  STEP_CATALOGUE,
  Step,
  type StepDefinition,
  type StepId,
  stepDefinition,
  stepNames,
} from "../../steps/catalogue.js";
import type { ValidationResult } from "../../steps/step-3-validate-datalake.js";
import { type LakeCommitResult, tableVersionName } from "../../table/types.js";
import type { Task } from "../../tracker/types.js";
import { action } from "../action.js";
import { describeRunTable } from "../display.js";
import { EXAMPLE_CONFIG } from "../example-config.js";
import { ExitCode } from "../exit-codes.js";
import { configOption, wholeNumber } from "../options.js";
import { LOG_FORMATS, type LogFormat, print, type Session, withProject } from "../session.js";
import { shownError } from "../task-errors.js";

/** A step as named on the command line (a number, a name, an older alias or the tracker id), from the catalogue. */
function parseStepName(name: string): { step: StepId; todo: boolean } {
  const names = stepNames();
  const found = names.find((n) => n.name === name);
  if (!found)
    throw new ConfigError("step", [
      `unknown step "${name}"; use one of ${names
        .filter((n) => n.name !== n.step)
        .map((n) => n.name)
        .join(", ")}`,
    ]);
  return found;
}

function parseStep(name: string): StepId {
  return parseStepName(name).step;
}

/** `0|manifest, 1.1|plan-snapshot, 1.2 (list), 1.3|process-snapshot, ...`: the steps, for `step --help`. */
export function stepHelp(): string {
  return (STEP_CATALOGUE as readonly StepDefinition[])
    .flatMap((s) => [...(s.kind === "group" ? [`${s.todoNumber} (list)`] : []), `${s.number}|${s.name}`])
    .join(", ");
}

const logFormatOption = () =>
  new Option(
    "--log-format <format>",
    "logs on stderr: human (default on a terminal) or json (elsewhere)",
  ).choices(LOG_FORMATS);
export const stateDirOption = () =>
  new Option(
    "--state-dir <dir>",
    "folder of the embedded tracker (default .snaplake beside the config file)",
  );

function describeValidation(v: ValidationResult): string {
  const lines = [
    `validation: ${v.ok ? "ok" : "FAILED"}`,
    `  snapshot: ${v.snapshot.files} files, ${v.snapshot.bytes} bytes${v.snapshot.rows === null ? "" : `, ${v.snapshot.rows} rows`}`,
    `  read: ${v.staging.rowsRead} rows, staged ${v.staging.rowsWritten}, bad ${v.staging.badRows}, dropped ${JSON.stringify(v.staging.dropped)}`,
    `  lake: ${v.lake.rows} rows in ${v.lake.files} files over ${v.lake.partitions} partitions (${v.lake.bytes} bytes), duplicates removed ${v.lake.duplicatesRemoved}`,
  ];
  for (const gap of v.gaps)
    lines.push(`  gap: ${gap.step} ${gap.taskId} ${gap.status}${gap.lastError ? `: ${gap.lastError}` : ""}`);
  for (const problem of v.problems) lines.push(`  problem: ${problem}`);
  return lines.join("\n");
}

function describeRun(summary: RunSummary): string {
  return [
    `manifest: ${summary.manifest.files} files, ${summary.manifest.bytes} bytes (fingerprint ${summary.manifest.fingerprint})`,
    `snapshot groups: ${JSON.stringify(summary.snapshotGroups)}`,
    `partition groups: ${JSON.stringify(summary.partitionGroups)}`,
    describeValidation(summary.validation),
    describeCommit(summary.commit),
  ].join("\n");
}

function describeCommit(c: LakeCommitResult): string {
  if (c.format === "hive")
    return `commit: hive lake, ${c.filesAdded} files visible as written (nothing to commit)`;
  const at = `${tableVersionName(c.format, c.version)}${c.format === "iceberg" ? ` (snapshot ${c.snapshotId})` : ""}`;
  const changes = `+${c.filesAdded} files (${c.rowsAdded} rows), -${c.filesRemoved} files (${c.rowsRemoved} rows)`;
  if (c.earlier) return `commit: committed by an earlier step 4 at ${at}: ${changes}; nothing written now`;
  return c.committed
    ? `commit: ${at}: ${changes}`
    : `commit: already in the table at ${at} (nothing written)`;
}

/**
 * `run --dry-run`: steps 0 and 1.1 computed from the snapshot as it is now, nothing written. No tracker is
 * opened (not even the embedded one's state folder) and nothing is put in staging or the lake.
 */
async function printPlan(options: { config: string; workers: number; json?: true }): Promise<number> {
  const [{ loadConfigFile }, { openStorage }, { previewSnapshotPlan }, { default: bytes }] =
    await Promise.all([
      import("../config-file.js"),
      import("../../runtime.js"),
      import("../../steps/step-1-1-plan-snapshot-to-staging.js"),
      import("bytes"),
    ]);
  const { config } = await loadConfigFile(options.config);
  const plan = await previewSnapshotPlan({
    storage: openStorage(config),
    source: config.snapshot,
    targetFileGroupSize: config.targetFileGroupSize,
  });
  const size = (n: number) => bytes.format(n, { unitSeparator: " " }) ?? String(n);
  const result = {
    dryRun: true,
    projectId: config.projectId,
    ...plan,
    workers: options.workers,
    estimatedMemory: plan.estimatedWorkerMemory * options.workers,
  };
  print(Boolean(options.json), result, () => {
    const { manifest, groups } = plan;
    const source = typeof manifest.details.source === "string" ? ` from ${manifest.details.source}` : "";
    const gzip =
      plan.gzipExpansion === 1
        ? ""
        : ` (gzip files weigh ${plan.gzipExpansion.toFixed(1)}x their stored size)`;
    const shown = groups.slice(0, 20);
    return [
      `dry run of project ${config.projectId}: nothing was written (no manifest, no tasks, no staging or lake files)`,
      `step 0 manifest: ${manifest.files} files, ${size(manifest.bytes)}${manifest.rows === null ? "" : `, ${manifest.rows} rows`}${source} (fingerprint ${manifest.fingerprint})`,
      `step 1.1 plan: ${groups.length} group(s) of about ${size(plan.targetFileGroupSize)} in memory${gzip}, one step-1.3 task each:`,
      ...shown.map(
        (g) =>
          `  ${g.fingerprint.slice(0, 16)}  ${String(g.files).padStart(5)} files  ${size(g.bytes).padStart(10)} stored  ${size(g.inMemory).padStart(10)} in memory`,
      ),
      ...(groups.length > shown.length
        ? [`  ... and ${groups.length - shown.length} more (--json lists them all)`]
        : []),
      `estimated memory per worker: ${size(plan.estimatedWorkerMemory)} (the largest group x6.5, plus 200 MB); ${options.workers} worker(s) in this process: ${size(result.estimatedMemory)}`,
      `then: staging in ${config.stagingUri}, compacted into files of about ${size(config.targetParquetFileSize)} in ${config.datalakeUri}`,
    ].join("\n");
  });
  return ExitCode.ok;
}

function describeOptimize(summary: OptimizeSummary): string {
  if (summary.plans.length === 0) return "optimize: no partition has small files to pack (nothing written)";
  return summary.plans
    .map(({ taskId, groups, filesRewritten, bytesRewritten, commit }) => {
      const version = tableVersionName(commit.format, commit.version);
      return commit.superseded
        ? `optimize ${taskId}: superseded (another commit removed some of its files; planned again)`
        : commit.committed
          ? `optimize ${taskId}: ${version}: ${filesRewritten} files (${bytesRewritten} bytes) rewritten into ${groups}`
          : `optimize ${taskId}: already in the table at ${version} (nothing written)`;
    })
    .join("\n");
}

/** Validation failures are results, not crashes: print them, exit 1. */
async function reportingValidation<T>(json: boolean, fn: () => Promise<T>): Promise<T | number> {
  const { ValidationFailedError } = await import("../../steps/step-3-validate-datalake.js");
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ValidationFailedError) {
      print(json, error.result, () => describeValidation(error.result));
      process.stderr.write(`snaplake: ${error.message}\n`);
      return ExitCode.failed;
    }
    throw error;
  }
}

/** Asks a yes/no question on the terminal (stderr, so stdout stays for data). */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

/** The number of the step listing a group step's tasks still to do (1.2 for 1.3). */
function todoNumber(step: StepId): string {
  const definition = stepDefinition(step);
  return definition.kind === "group" ? definition.todoNumber : definition.number;
}

/**
 * A task `step --task` could not claim: already done (exit 0), held by another worker, used up, or unknown
 * (exit 1), each with what to do about it.
 */
function reportUnclaimable(json: boolean, step: StepId, taskId: string, task: Task | undefined): number {
  const state = task?.status ?? "unknown";
  const message = !task
    ? `step ${step} has no task ${taskId}: see \`snaplake step ${todoNumber(step)}\` for its tasks`
    : task.status === "succeeded"
      ? `task ${taskId} of step ${step} already succeeded (${task.finishedAt ?? "earlier"}): nothing to do`
      : task.status === "in_progress"
        ? `task ${taskId} of step ${step} is being run by another worker (lease until ${new Date(task.leaseExpiresAt ?? 0).toISOString()})`
        : `task ${taskId} of step ${step} is ${task.status} after ${task.attempts}/${task.maxAttempts} attempts: \`snaplake retry\` brings it back`;
  print(json, { step, taskId, outcome: "not_claimable", status: state, message }, () => message);
  return task?.status === "succeeded" ? ExitCode.ok : ExitCode.failed;
}

/** A command on the config file's project: `--config` and `--state-dir`. */
const projectCommand = (program: Command, name: string, description: string) =>
  program.command(name).description(description).addOption(configOption()).addOption(stateDirOption());

interface RunCommandOptions {
  config: string;
  stateDir?: string;
  logFormat?: LogFormat;
  workers: number;
  force?: true;
  json?: true;
}

interface StepCommandOptions extends RunCommandOptions {
  task?: string;
}

/** `run` and `worker`: every step, then the run's summary (a table under the live view). */
function runAll(options: RunCommandOptions): Promise<number> {
  return withProject({ ...options, progress: !options.json }, async ({ project, runOptions, display }) => {
    const outcome = await reportingValidation(Boolean(options.json), () =>
      project.runAll({ workers: options.workers, force: Boolean(options.force), ...runOptions }),
    );
    if (typeof outcome === "number") return outcome;
    display?.stop();
    print(Boolean(options.json), outcome, () =>
      display ? describeRunTable(display.records(), outcome) : describeRun(outcome),
    );
    return ExitCode.ok;
  });
}

/** `step <group step>`: its todo listing, one task (`--task`), or every task still to do. */
async function runGroupStep(
  { project, runOptions }: Session,
  step: GroupStep,
  todo: boolean,
  options: StepCommandOptions,
): Promise<number> {
  const json = Boolean(options.json);
  const definition = stepDefinition(step);
  if (todo) {
    // Loaded here: the manifests it reads pull in polars, which `snaplake --help` must not load.
    const { listTodo } = await import("../../steps/step-x-2-list-todo.js");
    const tasks = await listTodo({ tracker: project.tracker, projectId: project.projectId, step });
    const items = tasks.map((t) => ({ taskId: t.taskId, status: t.status, attempts: t.attempts }));
    print(json, items, () =>
      items.length === 0 ? "nothing to do" : items.map((t) => `${t.taskId} ${t.status}`).join("\n"),
    );
    return ExitCode.ok;
  }
  const before = await project.tracker.counts(project.projectId, step);
  if (Object.values(before).every((n) => n === 0)) {
    const plan = stepDefinition(definition.plannedBy as StepId).number;
    process.stderr.write(
      `snaplake: step ${step} is not planned yet (it has no tasks): run \`snaplake step ${plan}\` (or \`snaplake run\`) first\n`,
    );
    return ExitCode.failed;
  }
  if (options.task) {
    const result = await definition.run(project, options.task);
    if (result.outcome === "not_claimable") return reportUnclaimable(json, step, options.task, result.task);
    print(json, result, () => `${step} ${options.task}: ${result.outcome}`);
    return result.outcome === "succeeded" ? ExitCode.ok : ExitCode.failed;
  }
  await project.drain(step, { workers: options.workers, ...runOptions });
  const counts = await project.tracker.counts(project.projectId, step);
  print(json, counts, () => `${step}: ${JSON.stringify(counts)}`);
  return counts.ignored + counts.failed > 0 ? ExitCode.failed : ExitCode.ok;
}

/** `step <single-task step>`: runs it and prints its output (validation and commit described). */
async function runSingleStep(
  { project }: Session,
  step: SingleTaskStep,
  options: StepCommandOptions,
): Promise<number> {
  const json = Boolean(options.json);
  const output = await reportingValidation(json, () =>
    stepDefinition(step).run(project, { force: Boolean(options.force) }),
  );
  if (typeof output === "number") return output;
  print(json, output, () =>
    step === Step.validate
      ? describeValidation(output as ValidationResult)
      : step === Step.commit
        ? describeCommit(output as LakeCommitResult)
        : JSON.stringify(output, null, 2),
  );
  return ExitCode.ok;
}

function runStep(name: string, options: StepCommandOptions): Promise<number> {
  const { step, todo } = parseStepName(name);
  return withProject({ ...options, progress: !options.json }, (session) =>
    isGroupStep(step) ? runGroupStep(session, step, todo, options) : runSingleStep(session, step, options),
  );
}

/** `status`: counts by status for every step, and the failed tasks with their last error. */
async function printStatus({ project }: Session, json: boolean): Promise<number> {
  const status = await project.status();
  const failures = (await project.failures()).map((t) => ({
    step: t.step,
    taskId: t.taskId,
    status: t.status,
    /** `ignored` tasks failed for good; `failed` ones are tried again. */
    willRetry: t.status === "failed",
    attempts: `${t.attempts}/${t.maxAttempts}`,
    lastError: shownError(t.errors.at(-1)),
  }));
  print(json, { projectId: project.projectId, steps: status, failures }, () =>
    [
      `project ${project.projectId}`,
      ...Object.entries(status).map(([step, counts]) => {
        const shown = Object.entries(counts).filter(([, n]) => n > 0);
        return `  ${step.padEnd(30)} ${shown.length === 0 ? "-" : shown.map(([s, n]) => `${s} ${n}`).join(", ")}`;
      }),
      ...failures.map(
        (f) =>
          `  ${f.willRetry ? "failed, will retry" : "failed for good"}: ${f.step} ${f.taskId} (attempts ${f.attempts}) ${f.lastError ? `${f.lastError.name}${f.lastError.code ? ` [${f.lastError.code}]` : ""}: ${f.lastError.message}` : ""}`,
      ),
    ].join("\n"),
  );
  return ExitCode.ok;
}

/** `reset`: asks first (unless --yes), then deletes the tasks from `step` on and what they wrote. */
async function resetProject(options: {
  config: string;
  stateDir?: string;
  fromStep: string;
  yes?: true;
  json?: true;
}): Promise<number> {
  const step = parseStep(options.fromStep);
  if (!options.yes && !process.stdin.isTTY)
    throw new ConfigError("snaplake reset", [
      "it deletes tasks and files and there is no terminal to confirm on: pass --yes",
    ]);
  return withProject(options, async ({ project }) => {
    if (!options.yes) {
      const confirmed = await confirm(
        `Delete the tasks of project ${project.projectId} from step ${step} on, with their staging files and lake files, and start over? [y/N] `,
      );
      if (!confirmed) {
        process.stderr.write("snaplake: reset cancelled, nothing was deleted\n");
        return ExitCode.failed;
      }
    }
    const result = await project.reset(step);
    print(
      Boolean(options.json),
      result,
      () =>
        `project ${project.projectId} reset from step ${step}: ${result.tasks} task(s) and ${result.files} file(s) removed; \`snaplake run\` starts again from there`,
    );
    return ExitCode.ok;
  });
}

function registerInit(program: Command): void {
  program
    .command("init")
    .description("write a commented example config")
    .option("-o, --output <file>", "where to write it", "snaplake.config.jsonc")
    .option("--force", "overwrite an existing file")
    .action(
      action(async (options) => {
        try {
          await writeFile(options.output, EXAMPLE_CONFIG, { flag: options.force ? "w" : "wx" });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EEXIST") {
            throw new ConfigError(options.output, ["already exists (use --force to overwrite)"]);
          }
          throw error;
        }
        process.stdout.write(
          `wrote ${options.output}: edit it, then run: snaplake run --config ${options.output}\n`,
        );
        return ExitCode.ok;
      }),
    );
}

/** `run`, `worker` and `step`: the commands that run steps, with a log format and a worker count. */
function registerRunning(program: Command): void {
  const running = (name: string, description: string) =>
    projectCommand(program, name, description).addOption(logFormatOption());
  for (const [name, description] of [
    ["run", "run every step with a local worker pool"],
    ["worker", "claim and run tasks of this project until none is left (run one per machine)"],
  ] as const) {
    const command = running(name, description)
      .option("-w, --workers <n>", "tasks at a time in this process", wholeNumber(1, 64), 2)
      .option("--force", "plan compaction even if some snapshot groups failed")
      .option("--json", "print the summary as JSON on stdout");
    if (name === "worker") command.action(action(runAll));
    else
      command
        .option(
          "--dry-run",
          "print the plan (the snapshot's files, the groups, the memory a worker needs) and touch nothing",
        )
        .action(action(async (options) => (options.dryRun ? printPlan(options) : runAll(options))));
  }
  running("step", `run one step: ${stepHelp()}`)
    .argument("<name>", "the step")
    .option("-t, --task <id>", "for 1.3 / 2.3: only this task (default: every task still to do)")
    .option("-w, --workers <n>", "for 1.3 / 2.3: tasks at a time", wholeNumber(1, 64), 2)
    .option("--force", "for 2.1: plan even if some snapshot groups failed")
    .option("--json", "print the result as JSON on stdout")
    .action(action(runStep));
}

/** `status`, `retry`, `reset`, `validate` and `optimize`: the commands that look at or mend a project. */
function registerTending(program: Command): void {
  projectCommand(
    program,
    "status",
    "counts by status for every step, and the failed/ignored tasks with their last error",
  )
    .option("--json", "print as JSON on stdout")
    .action(
      action(async (options) =>
        withProject(options, (session) => printStatus(session, Boolean(options.json))),
      ),
    );

  projectCommand(program, "retry", "bring failed and ignored tasks back to pending")
    .option("-s, --step <name>", "only this step")
    .action(
      action(async (options) =>
        withProject(options, async ({ project }) => {
          const reset = await project.retry(options.step ? [parseStep(options.step)] : undefined);
          process.stdout.write(`${reset} task(s) reset to pending\n`);
          return ExitCode.ok;
        }),
      ),
    );

  projectCommand(
    program,
    "reset",
    "start the project over from a step (default 0): delete the tasks of that step and the later ones, and what they wrote",
  )
    .option(
      "--from-step <name>",
      "the first step to do again (0, 1.1, 1.3, 2.1, 2.3, 3, 4 or a step name)",
      "0",
    )
    .option("-y, --yes", "do not ask for confirmation (needed when stdin is not a terminal)")
    .option("--json", "print the result as JSON on stdout")
    .action(action(resetProject));

  projectCommand(
    program,
    "validate",
    "validate the lake against the snapshot (exit 1 when anything is unexplained)",
  )
    .option("--json", "print the result as JSON on stdout")
    .action(
      action(async (options) =>
        withProject(options, async ({ project }) => {
          const json = Boolean(options.json);
          const outcome = await reportingValidation(json, () => project.step3ValidateDatalake());
          if (typeof outcome === "number") return outcome;
          print(json, outcome, () => describeValidation(outcome));
          return ExitCode.ok;
        }),
      ),
    );

  projectCommand(
    program,
    "optimize",
    "bin-pack the small files of each partition of the project's Delta or Iceberg table (every run's files) into files of about targetParquetFileSize, in one commit that changes no data",
  )
    .option("--json", "print the result as JSON on stdout")
    .action(
      action(async (options) =>
        withProject(options, async ({ project }) => {
          const summary = await project.optimize();
          print(Boolean(options.json), summary, () => describeOptimize(summary));
          return ExitCode.ok;
        }),
      ),
    );
}

export function register(program: Command): void {
  registerInit(program);
  registerRunning(program);
  registerTending(program);
}
