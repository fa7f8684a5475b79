/**
 * The settings that define what a project's steps produce, recorded by step 0 so that a later command run
 * with a different config is refused instead of silently mixing old and new results. Each setting is
 * listed with the first step whose output it shapes: `snaplake reset --from-step <that step>` is what it
 * takes to apply a change.
 *
 * Not recorded, because changing them changes no step's output: `projectId` (the project itself),
 * `stagingUri`/`datalakeUri` (where, not what), `countColumn` (validation always runs afresh), `tracker`
 * and `aws` (how the work is shared), `table.logStore` (how a Delta commit is made exclusive, not what it
 * holds) and `table.catalog` (where an Iceberg table's current metadata is recorded). `table` records its
 * `format` and `mode`, which shape step 4's commit.
 */
import { z } from "zod";
import type { ProjectConfig } from "../config.js";
import { SnaplakeError } from "../errors.js";
import { sha256Hex } from "../models/fingerprint.js";
import { ALL_STEPS, STEP_CATALOGUE, Step, type StepId } from "./catalogue.js";

type SettingOf<E> = E extends { settings: readonly (infer S)[] } ? S : never;

/** Each recorded setting with the first step it shapes, from the step catalogue, in step order. */
export const RECORDED_SETTINGS = Object.fromEntries(
  STEP_CATALOGUE.flatMap((step) => step.settings.map((setting) => [setting, step.id])),
) as Record<SettingOf<(typeof STEP_CATALOGUE)[number]>, StepId>;

export type SettingName = keyof typeof RECORDED_SETTINGS;

/** The part of a setting that is recorded, when not all of it shapes what the steps produce. */
const RECORDED_PART: Partial<Record<SettingName, (value: unknown) => unknown>> = {
  table: (value) => {
    const { format, mode } = (value ?? {}) as Record<string, unknown>;
    return { format, mode };
  },
};

/**
 * The value a setting had in records written before it was recorded: such a project ran with it (a hive
 * lake, before the table setting existed), so that value is no change.
 */
const VALUE_BEFORE_RECORDED: Partial<Record<SettingName, unknown>> = {
  table: { format: "hive", mode: "append" },
};
export type ProjectSettings = Record<SettingName, unknown>;

export const recordedSettingsSchema = z.object({
  fingerprint: z.string(),
  recordedAt: z.string(),
  settings: z.record(z.string(), z.unknown()),
});
export type RecordedSettings = z.infer<typeof recordedSettingsSchema>;

/** Same value, same text: object keys sorted, absent values as null. */
function canonical(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The recorded settings of a parsed config; `extra` holds what the config file adds (`reader`,
 * `derivedColumns`) or a project's own description of its reader.
 */
export function projectSettings(
  config: ProjectConfig,
  extra: Partial<ProjectSettings> = {},
): ProjectSettings {
  const settings = {} as ProjectSettings;
  for (const name of Object.keys(RECORDED_SETTINGS) as SettingName[]) {
    const value = name in extra ? extra[name] : (config as Record<string, unknown>)[name];
    const part = RECORDED_PART[name];
    settings[name] = JSON.parse(canonical(part ? part(value) : value));
  }
  return settings;
}

export function recordSettings(settings: ProjectSettings): RecordedSettings {
  return { fingerprint: sha256Hex(canonical(settings)), recordedAt: new Date().toISOString(), settings };
}

/** The settings that differ, as field paths (`snapshot.include`), in the order of RECORDED_SETTINGS. */
export function changedSettings(recorded: Record<string, unknown>, current: ProjectSettings): string[] {
  const changed: string[] = [];
  const walk = (path: string, a: unknown, b: unknown) => {
    if (canonical(a) === canonical(b)) return;
    const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
    if (isObject(a) && isObject(b)) {
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const key of [...keys].sort())
        walk(`${path}.${key}`, (a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]);
    } else changed.push(path);
  };
  for (const name of Object.keys(RECORDED_SETTINGS) as SettingName[])
    walk(name, name in recorded ? recorded[name] : VALUE_BEFORE_RECORDED[name], current[name]);
  return changed;
}

/** The first step a changed setting (a field path) shapes. */
export function firstStepOf(paths: readonly string[]): StepId {
  const steps: StepId[] = paths.map(
    (path) => RECORDED_SETTINGS[path.split(".")[0] as SettingName] ?? Step.manifest,
  );
  return ALL_STEPS.find((step) => steps.includes(step)) ?? Step.manifest;
}

/** The config differs from the settings step 0 recorded: the steps already done were made with others. */
export class ConfigChangedError extends SnaplakeError {
  readonly fields: string[];
  readonly fromStep: StepId;
  constructor(projectId: string, fields: string[], recordUri: string) {
    const fromStep = firstStepOf(fields);
    super(
      "CONFIG_CHANGED",
      `The config of project ${projectId} differs from the one its steps were run with (recorded in ${recordUri}) in: ${fields.join(", ")}. Put the recorded values back, or start over from step ${fromStep} with the new ones: snaplake reset --config <file> --from-step ${fromStep}`,
    );
    this.fields = fields;
    this.fromStep = fromStep;
  }
}
