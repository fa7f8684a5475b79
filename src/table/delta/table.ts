/** Reading a Delta table at a version: its active files, schema and history, from the log alone. */
import pLimit from "p-limit";
import type { Storage } from "../../storage/types.js";
import { joinUri } from "../../storage/uri.js";
import { decodeActionPath } from "./actions.js";
import { tableRoot } from "./commit.js";
import { listLog, loadSnapshot, readCommit } from "./log.js";
import type { DeltaLogStore } from "./log-store.js";
import type { DeltaStructType } from "./schema.js";
import { rowsOf } from "./stats.js";

export interface DeltaTableFile {
  /** The `add` path as written in the log (relative, URI-encoded). */
  path: string;
  /** The file's absolute URI. */
  uri: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  /** `stats.numRecords`, null when the writer recorded no statistics. */
  rows: number | null;
}

export interface DeltaHistoryEntry {
  version: number;
  /** commitInfo.timestamp (ms since the epoch), null when the commit has none. */
  timestamp: number | null;
  operation: string | null;
  /** The snaplake projectId (or another writer's txn appId). */
  projectId: string | null;
  rowsAdded: number;
  rowsRemoved: number;
  filesAdded: number;
  filesRemoved: number;
}

export interface DeltaTable {
  uri: string;
  version: number;
  schema: DeltaStructType;
  partitionColumns: string[];
  files: DeltaTableFile[];
  /** Reads every commit up to this version (commitInfo and file actions). */
  history(): Promise<DeltaHistoryEntry[]>;
}

const HISTORY_CONCURRENCY = 16;

/** Replays the log (from the newest checkpoint at or below `version`, default the latest). */
export async function openDeltaTable(
  storage: Storage,
  uri: string,
  options: { version?: number; logStore?: DeltaLogStore } = {},
): Promise<DeltaTable> {
  const tableUri = tableRoot(uri);
  const snapshot = await loadSnapshot(storage, tableUri, options);
  const files = [...snapshot.files.values()]
    .map((add) => ({
      path: add.path,
      uri: fileUri(tableUri, add.path),
      partitionValues: add.partitionValues,
      size: add.size,
      modificationTime: add.modificationTime,
      rows: rowsOf(add.stats),
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    uri: tableUri,
    version: snapshot.version,
    schema: snapshot.schema,
    partitionColumns: snapshot.metadata.partitionColumns,
    files,
    history: () => deltaHistory(storage, tableUri, snapshot.version, options.logStore),
  };
}

/** A log path as an absolute URI: relative paths are decoded and joined to the root. */
export function fileUri(tableUri: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) return decodeURI(path);
  return joinUri(tableUri, decodeActionPath(path));
}

async function deltaHistory(
  storage: Storage,
  tableUri: string,
  upTo: number,
  logStore?: DeltaLogStore,
): Promise<DeltaHistoryEntry[]> {
  const listing = await listLog(storage, tableUri, logStore);
  const versions = [...listing.commits.keys()].filter((v) => v <= upTo).sort((a, b) => a - b);
  const limit = pLimit(HISTORY_CONCURRENCY);
  return Promise.all(
    versions.map((version) =>
      limit(async () => {
        const entry: DeltaHistoryEntry = {
          version,
          timestamp: null,
          operation: null,
          projectId: null,
          rowsAdded: 0,
          rowsRemoved: 0,
          filesAdded: 0,
          filesRemoved: 0,
        };
        for (const action of await readCommit(storage, listing.commits.get(version)!)) {
          if ("commitInfo" in action) {
            entry.timestamp = action.commitInfo.timestamp ?? null;
            entry.operation = action.commitInfo.operation ?? null;
            entry.projectId = action.commitInfo.snaplake?.projectId ?? entry.projectId;
          } else if ("txn" in action) entry.projectId ??= action.txn.appId;
          else if ("add" in action) {
            entry.filesAdded++;
            entry.rowsAdded += rowsOf(action.add.stats) ?? 0;
          } else if ("remove" in action) {
            entry.filesRemoved++;
            entry.rowsRemoved += rowsOf(action.remove.stats) ?? 0;
          }
        }
        return entry;
      }),
    ),
  );
}
