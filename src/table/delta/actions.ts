/**
 * Delta log actions (PROTOCOL.md, "Actions"): their shapes, parsed with zod when read (from commit JSON
 * or checkpoint rows), and one JSON line each when written. Unknown fields and unknown actions are
 * ignored, as the protocol requires of readers.
 */
import { z } from "zod";
import { formatZodIssues } from "../../errors.js";
import { DeltaLogError } from "./errors.js";

const stringMap = z.record(z.string(), z.string());
const partitionValues = z.record(z.string(), z.string().nullable());
const long = z.number().int();

export const protocolAction = z.looseObject({
  minReaderVersion: long,
  minWriterVersion: long,
  readerFeatures: z.array(z.string()).optional(),
  writerFeatures: z.array(z.string()).optional(),
});
export const metaDataAction = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  format: z.looseObject({ provider: z.string(), options: stringMap.default({}) }),
  schemaString: z.string(),
  partitionColumns: z.array(z.string()),
  createdTime: long.optional(),
  configuration: stringMap.default({}),
});
export const addAction = z.looseObject({
  path: z.string(),
  partitionValues,
  size: long,
  modificationTime: long,
  dataChange: z.boolean(),
  stats: z.string().optional(),
  tags: stringMap.optional(),
});
export const removeAction = z.looseObject({
  path: z.string(),
  deletionTimestamp: long.optional(),
  dataChange: z.boolean(),
  extendedFileMetadata: z.boolean().optional(),
  partitionValues: partitionValues.optional(),
  size: long.optional(),
  stats: z.string().optional(),
});
export const txnAction = z.looseObject({ appId: z.string(), version: long, lastUpdated: long.optional() });
/** Free-form by the protocol; these are the fields snaplake writes and history reads. */
export const commitInfoAction = z.looseObject({
  timestamp: long.optional(),
  operation: z.string().optional(),
  operationParameters: z.record(z.string(), z.unknown()).optional(),
  engineInfo: z.string().optional(),
  snaplake: z
    .looseObject({
      version: z.string().optional(),
      projectId: z.string().optional(),
      rowsAdded: long.optional(),
      rowsRemoved: long.optional(),
      filesAdded: long.optional(),
      filesRemoved: long.optional(),
    })
    .optional(),
});

export type ProtocolAction = z.infer<typeof protocolAction>;
export type MetaDataAction = z.infer<typeof metaDataAction>;
export type AddAction = z.infer<typeof addAction>;
export type RemoveAction = z.infer<typeof removeAction>;
export type TxnAction = z.infer<typeof txnAction>;
export type CommitInfoAction = z.infer<typeof commitInfoAction>;

export type DeltaAction =
  | { protocol: ProtocolAction }
  | { metaData: MetaDataAction }
  | { add: AddAction }
  | { remove: RemoveAction }
  | { txn: TxnAction }
  | { commitInfo: CommitInfoAction };

const ACTION_SCHEMAS = {
  protocol: protocolAction,
  metaData: metaDataAction,
  add: addAction,
  remove: removeAction,
  txn: txnAction,
  commitInfo: commitInfoAction,
} as const;

type ActionKey = keyof typeof ACTION_SCHEMAS;

/**
 * Parses one action object (a commit line or a checkpoint row); null for an action this library does not
 * know (cdc, domainMetadata, ...). `where` names the file and line for errors.
 */
export function parseAction(value: unknown, where: string): DeltaAction | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DeltaLogError(`${where}: an action must be a JSON object`);
  }
  for (const [key, body] of Object.entries(value)) {
    if (!(key in ACTION_SCHEMAS) || body === null || body === undefined) continue;
    const parsed = ACTION_SCHEMAS[key as ActionKey].safeParse(body);
    if (!parsed.success) {
      const issues = formatZodIssues(parsed.error.issues).map((issue) => `${key}.${issue}`);
      throw new DeltaLogError(`${where}: invalid ${key} action: ${issues.join("; ")}`);
    }
    return { [key]: parsed.data } as DeltaAction;
  }
  return null;
}

/** Parses a commit file (newline-delimited JSON, one action a line). `source` names the file. */
export function parseCommit(text: string, source: string): DeltaAction[] {
  const actions: DeltaAction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new DeltaLogError(`${source} line ${i + 1} is not JSON`, { cause: error });
    }
    const action = parseAction(json, `${source} line ${i + 1}`);
    if (action) actions.push(action);
  }
  return actions;
}

/** A commit file's text: one action a line. */
export function serializeCommit(actions: readonly DeltaAction[]): string {
  return actions.map((action) => `${JSON.stringify(action)}\n`).join("");
}

/** `_delta_log/00000000000000000042.json` names: versions zero-padded to 20 digits. */
export function commitFileName(version: number): string {
  return `${String(version).padStart(20, "0")}.json`;
}

export function checkpointFileName(version: number): string {
  return `${String(version).padStart(20, "0")}.checkpoint.parquet`;
}

/**
 * An add/remove `path`: relative to the table root and URI-encoded per RFC 2396, as the protocol says. Each
 * segment is escaped except for the characters RFC 2396 allows in a path segment, so `k=v` folders stay
 * readable (as Spark writes them) and a Hive-escaped `%` becomes `%25`.
 */
export function encodeActionPath(relativePath: string): string {
  return relativePath
    .split("/")
    .map((segment) =>
      encodeURIComponent(segment).replace(/%(3A|40|26|3D|2B|24|2C)/g, (escaped) =>
        decodeURIComponent(escaped),
      ),
    )
    .join("/");
}

export function decodeActionPath(path: string): string {
  return path.split("/").map(decodeURIComponent).join("/");
}
