/**
 * What a reader format is: the options a config file's `reader` object may carry (parsed with zod) and what
 * reads a snapshot file group with them. Each format's file defines one; `registry.ts` names them.
 */
import type { z } from "zod";
import type { ProjectConfigInput } from "../config.js";
import type { Project, ProjectDependencies } from "../project.js";
import type { Runtime } from "../runtime.js";
import type { BatchReadSnapshotDataFile } from "./types.js";

/** A format reads either with a reader function (in a plain configured project) or with a ready project. */
export type ReaderFormat<Options extends z.ZodObject = z.ZodObject> = {
  /** What the format reads, in a sentence (the config file's JSON Schema shows it). */
  description: string;
  /** The `reader` object's fields besides `format`. */
  options: Options;
  /** Puts the config defaults the format brings under the file's own values. */
  withConfigDefaults?: <C extends Partial<ProjectConfigInput>>(config: C) => C;
} & (
  | { reader(options: z.output<Options>): BatchReadSnapshotDataFile }
  | {
      project(
        config: ProjectConfigInput,
        dependencies: ProjectDependencies,
        options: z.output<Options>,
        runtime: Runtime,
      ): Project;
    }
);

/** Types a format's entry, so its reader sees its own options' type. */
export const readerFormat = <Options extends z.ZodObject>(entry: ReaderFormat<Options>) => entry;
