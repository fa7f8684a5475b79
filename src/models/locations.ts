/**
 * Every URI the workflow reads or writes, computed from the staging and lake roots. Names are
 * deterministic (fingerprints, not counters), so a retry overwrites the same keys. Staging is per project,
 * `{staging} = {stagingUri}/{projectId}`, so projects that share a `stagingUri` never overwrite each other.
 *
 * {staging}/manifests/snapshot/manifest-summary.json        step 0 (when snaplake lists the source)
 * {staging}/manifests/snapshot/manifest-data.parquet
 * {staging}/manifests/snapshot-file-groups/{fp}.json       step 1.1, one per group
 * {staging}/manifests/staging-file-groups/{fp}.json        step 1.3, one per snapshot group (same fp)
 * {staging}/manifests/partition-file-groups/{fp}.json      step 2.1, one per compaction group
 * {staging}/manifests/lake-schema.json                     step 2.1, the one schema of every lake file
 * {staging}/manifests/todo/{step}.json                     todo lists for Step Functions' ItemReader
 * {staging}/manifests/validation/validate-datalake-result.json   step 3
 * {staging}/manifests/optimize/{task id}.json              optimize plans (snaplake optimize)
 * {staging}/manifests/project-settings.json                the settings the steps ran with (step 0, reset)
 * {staging}/datalake/{k=v/...}/{snapshot group fp}.parquet  staging data
 * {staging}/bad-rows/{snapshot group fp}.ndjson            rows a reader rejected (e.g. Snowplow)
 * {lake}/{k=v/...}/part-{partition group fp}-{nnnnn}.parquet
 */
import { asFolder, joinUri, normalizeUri } from "../storage/uri.js";

export class Locations {
  /** This project's staging folder: `{stagingUri}/{projectId}/`. */
  readonly staging: string;
  readonly datalake: string;

  constructor(stagingUri: string, datalakeUri: string, projectId: string) {
    this.staging = asFolder(joinUri(asFolder(normalizeUri(stagingUri)), projectId));
    this.datalake = asFolder(normalizeUri(datalakeUri));
  }

  get manifests(): string {
    return joinUri(this.staging, "manifests/");
  }
  /** Step 0's listing of the snapshot (when snaplake lists the source). */
  get snapshotManifestFolder(): string {
    return joinUri(this.manifests, "snapshot/");
  }
  get snapshotManifestSummary(): string {
    return joinUri(this.snapshotManifestFolder, "manifest-summary.json");
  }
  get snapshotManifestData(): string {
    return joinUri(this.snapshotManifestFolder, "manifest-data.parquet");
  }
  get snapshotFileGroups(): string {
    return joinUri(this.manifests, "snapshot-file-groups/");
  }
  snapshotFileGroup(fingerprint: string): string {
    return joinUri(this.snapshotFileGroups, `${fingerprint}.json`);
  }
  get stagingManifests(): string {
    return joinUri(this.manifests, "staging-file-groups/");
  }
  stagingManifest(snapshotGroupFingerprint: string): string {
    return joinUri(this.stagingManifests, `${snapshotGroupFingerprint}.json`);
  }
  get partitionFileGroups(): string {
    return joinUri(this.manifests, "partition-file-groups/");
  }
  partitionFileGroup(fingerprint: string): string {
    return joinUri(this.partitionFileGroups, `${fingerprint}.json`);
  }
  get todoLists(): string {
    return joinUri(this.manifests, "todo/");
  }
  get lakeSchema(): string {
    return joinUri(this.manifests, "lake-schema.json");
  }
  todoList(step: string): string {
    return joinUri(this.todoLists, `${step}.json`);
  }
  /** An optimize plan, recorded before its rewrite starts (maintenance: `snaplake optimize`). */
  optimizePlan(taskId: string): string {
    return joinUri(this.manifests, `optimize/${taskId}.json`);
  }
  get settingsRecord(): string {
    return joinUri(this.manifests, "project-settings.json");
  }
  get validationResult(): string {
    return joinUri(this.manifests, "validation/validate-datalake-result.json");
  }
  get badRowsFolder(): string {
    return joinUri(this.staging, "bad-rows/");
  }
  get stagingData(): string {
    return joinUri(this.staging, "datalake/");
  }
  stagingFile(partitionPath: string, snapshotGroupFingerprint: string): string {
    return joinUri(this.stagingData, partitionPath, `${snapshotGroupFingerprint}.parquet`);
  }
  badRows(snapshotGroupFingerprint: string): string {
    return joinUri(this.badRowsFolder, `${snapshotGroupFingerprint}.ndjson`);
  }
  lakeFolder(partitionPath: string): string {
    return asFolder(joinUri(this.datalake, partitionPath));
  }
  lakeFile(partitionPath: string, groupFingerprint: string, index: number): string {
    return joinUri(
      this.datalake,
      partitionPath,
      `part-${groupFingerprint}-${String(index).padStart(5, "0")}.parquet`,
    );
  }
  /** The compaction group fingerprint in a lake file's name (`lakeFile`'s), undefined for other files. */
  static lakeFileGroup(uri: string): string | undefined {
    return /\/part-([^/]+)-\d{5}\.parquet$/.exec(uri)?.[1];
  }
}
