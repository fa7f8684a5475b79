/**
 * Where an Iceberg table's current metadata file is recorded, and the atomic swap that commits a new one
 * (spec "Commit Conflict Resolution and Retry"). One interface, two catalogs:
 * - `FileSystemCatalog`: `metadata/v<N>.metadata.json` created only if absent (local folders: exclusive
 *   create; S3: the DynamoDB commit table Delta uses, or conditional PUTs on AWS S3), plus
 *   `metadata/version-hint.text` for readers that start from it;
 * - `GlueCatalog` (glue.ts): the Glue table's `metadata_location`, swapped with Glue's optimistic `VersionId`.
 */
import { ObjectNotFoundError } from "../../storage/errors.js";
import type { Storage } from "../../storage/types.js";
import { isS3Uri, joinUri, normalizeUri } from "../../storage/uri.js";
import { type CommitLayout, ConditionalPutLogStore, type DeltaLogStore } from "../delta/log-store.js";
import { IcebergInputError, IcebergMetadataError } from "./errors.js";
import {
  type IcebergTableMetadata,
  parseTableMetadata,
  TABLE_PROPERTIES,
  tableProperty,
} from "./metadata.js";

export interface IcebergCatalogState {
  metadata: IcebergTableMetadata;
  /** The current metadata file's URI. */
  metadataLocation: string;
}

export interface IcebergCatalog {
  /** The table's location: data files, manifests and metadata files live under it. */
  readonly tableUri: string;
  /** How messages name the table (its URI, or `glue:database.name`). */
  readonly displayName: string;
  /** The current metadata, or null when the table does not exist yet. */
  load(): Promise<IcebergCatalogState | null>;
  /**
   * Makes `metadata` current if `base` is still current (null: creates the table). Resolves to the new
   * metadata file's URI, or null when another writer committed first (nothing of this commit is current).
   */
  commit(base: IcebergCatalogState | null, metadata: IcebergTableMetadata): Promise<string | null>;
}

const METADATA_FILE = /^v(\d+)\.metadata\.json$/;

/** `metadata/v<N>.metadata.json` in the commit stores; DynamoDB keys zero-padded so they sort by version. */
export const ICEBERG_METADATA_LAYOUT: CommitLayout = {
  folder: (tableUri) => joinUri(tableUri, "metadata/"),
  entryKey: (version) => `v${String(version).padStart(20, "0")}.metadata.json`,
  fileOf: (entryKey) => `v${Number(entryKey.slice(1, 21))}.metadata.json`,
  firstVersion: 1,
};

export function tableLocation(uri: string): string {
  return normalizeUri(uri).replace(/\/+$/, "");
}

export class FileSystemCatalog implements IcebergCatalog {
  readonly tableUri: string;
  readonly displayName: string;
  private readonly store: DeltaLogStore;

  /**
   * `store` writes each version's file exactly once; default: exclusive create, refused on S3 (a plain PUT
   * can replace another writer's version there): pass a DynamoDbLogStore or ConditionalPutLogStore built
   * with ICEBERG_METADATA_LAYOUT.
   */
  constructor(
    private readonly storage: Storage,
    tableUri: string,
    store?: DeltaLogStore,
  ) {
    this.tableUri = tableLocation(tableUri);
    this.displayName = this.tableUri;
    if (!store && isS3Uri(this.tableUri)) {
      throw new IcebergInputError(
        `Iceberg table ${this.tableUri} is on S3, where a plain PUT can replace another writer's metadata ` +
          `version: configure a commit store (the DynamoDB commit table, or AWS S3 conditional writes)`,
      );
    }
    this.store = store ?? new ConditionalPutLogStore(storage, ICEBERG_METADATA_LAYOUT);
  }

  private get folder(): string {
    return joinUri(this.tableUri, "metadata/");
  }

  metadataUri(version: number): string {
    return joinUri(this.folder, `v${version}.metadata.json`);
  }

  /**
   * The highest committed version, 0 when none. As Java's HadoopTableOperations finds it: from the version
   * hint (which may lag), step on while the next version exists; versions are contiguous, each committed
   * on top of the one before. Only a missing hint, or one naming a version deleted since, lists the folder,
   * which holds every manifest and manifest list too.
   */
  async latestVersion(): Promise<number> {
    await this.store.beforeList(this.tableUri);
    const hinted = await this.hintedVersion();
    if (hinted === null || !(await this.storage.exists(this.metadataUri(hinted))))
      return this.listedVersion();
    let latest = hinted;
    while (await this.storage.exists(this.metadataUri(latest + 1))) latest++;
    return latest;
  }

  private get hintUri(): string {
    return joinUri(this.folder, "version-hint.text");
  }

  private async hintedVersion(): Promise<number | null> {
    let text: string;
    try {
      text = (await this.storage.get(this.hintUri)).toString("utf8").trim();
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return null;
      throw error;
    }
    return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null;
  }

  private async listedVersion(): Promise<number> {
    let latest = 0;
    for await (const object of this.storage.listSummaries(this.folder)) {
      const name = object.uri.slice(object.uri.lastIndexOf("/") + 1);
      const match = METADATA_FILE.exec(name);
      if (match && object.uri === joinUri(this.folder, name)) latest = Math.max(latest, Number(match[1]));
    }
    return latest;
  }

  async load(): Promise<IcebergCatalogState | null> {
    const version = await this.latestVersion();
    if (version === 0) return null;
    const metadataLocation = this.metadataUri(version);
    const metadata = parseTableMetadata(
      (await this.storage.get(metadataLocation)).toString("utf8"),
      metadataLocation,
    );
    return { metadata, metadataLocation };
  }

  async commit(base: IcebergCatalogState | null, metadata: IcebergTableMetadata): Promise<string | null> {
    const version = base ? versionOf(base.metadataLocation) + 1 : 1;
    // A base whose file is gone was dropped from the metadata log by 100 (previous-versions-max) later
    // commits: its successor's name may be free again, and creating it would commit nothing visible.
    if (base && !(await this.storage.exists(base.metadataLocation))) return null;
    if (!(await this.store.writeCommit(this.tableUri, version, `${JSON.stringify(metadata, null, 2)}\n`))) {
      return null;
    }
    await this.writeHint(version);
    return this.metadataUri(version);
  }

  /**
   * The hint is a plain PUT, so two writers can write theirs out of order: after writing, a writer that
   * sees a newer version writes that one, and the last hint written is always the latest version.
   */
  private async writeHint(version: number): Promise<void> {
    let written = version;
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.storage.put(this.hintUri, String(written), { contentType: "text/plain" });
      const latest = await this.latestVersion();
      if (latest <= written) return;
      written = latest;
    }
  }
}

/**
 * Commits `metadata` on top of `base` through the catalog with the metadata log the table's properties ask
 * for (spec "Metadata Log"): base's file joins the log, which keeps the newest
 * `write.metadata.previous-versions-max` entries; after the commit succeeded, with
 * `write.metadata.delete-after-commit.enabled`, the files that left the log are deleted (readers start from
 * the current file; a snapshot stays readable through its manifest list, whichever metadata file lists it).
 * Resolves to the new metadata file's URI, or null when another writer committed first.
 */
export async function commitTableMetadata(
  storage: Storage,
  catalog: IcebergCatalog,
  base: IcebergCatalogState | null,
  metadata: IcebergTableMetadata,
): Promise<string | null> {
  const log = base
    ? [
        ...base.metadata["metadata-log"],
        { "timestamp-ms": base.metadata["last-updated-ms"], "metadata-file": base.metadataLocation },
      ]
    : [];
  // At least one entry: base's file, which the next commit's catalog checks for.
  const keep = Math.max(1, tableProperty(metadata, TABLE_PROPERTIES.previousMetadataVersionsMax));
  const next = { ...metadata, "metadata-log": log.slice(-keep) };
  const location = await catalog.commit(base, next);
  if (location !== null && tableProperty(next, TABLE_PROPERTIES.deleteMetadataAfterCommit)) {
    const kept = new Set(next["metadata-log"].map((entry) => entry["metadata-file"]));
    const ours = joinUri(catalog.tableUri, "metadata/");
    const dropped = log
      .map((entry) => entry["metadata-file"])
      .filter((file) => !kept.has(file) && file.startsWith(ours));
    // The commit stands either way: a file left behind takes space only, and vacuum deletes it later.
    if (dropped.length > 0) await storage.delete(dropped).catch(() => undefined);
  }
  return location;
}

function versionOf(metadataLocation: string): number {
  const name = metadataLocation.slice(metadataLocation.lastIndexOf("/") + 1);
  const match = METADATA_FILE.exec(name);
  if (!match) throw new IcebergMetadataError(`${metadataLocation} is not named v<N>.metadata.json`);
  return Number(match[1]);
}

/**
 * The filesystem catalog of a table at `uri`, for reading it (history, files, preview): on S3 without the
 * project's commit store, so it must not be used to commit there.
 */
export function fileSystemCatalogForReading(storage: Storage, uri: string): FileSystemCatalog {
  return new FileSystemCatalog(storage, uri, new ConditionalPutLogStore(storage, ICEBERG_METADATA_LAYOUT));
}
