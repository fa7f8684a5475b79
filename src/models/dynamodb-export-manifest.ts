/**
 * The manifests of a DynamoDB "Export to S3": which data files make up the export, with their item counts,
 * read from the export's own `manifest-summary.json` and `manifest-files.json` instead of listing a folder.
 *
 * Layout and field names, from AWS's "DynamoDB table export output format" page
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):
 *
 * ```
 * export-prefix/AWSDynamoDB/ExportId/manifest-summary.json   written when the export completes
 * export-prefix/AWSDynamoDB/ExportId/manifest-files.json     JSON lines: itemCount, md5Checksum, etag, dataFileS3Key
 * export-prefix/AWSDynamoDB/ExportId/_started                empty, written when the export begins
 * export-prefix/AWSDynamoDB/ExportId/data/<random>.json.gz   the items, at least one file per partition
 * ```
 *
 * The summary holds `version`, `exportArn`, `startTime`, `endTime`, `tableArn`, `tableId`, `exportTime` (full
 * exports) or `exportFromTime`/`exportToTime` and `outputView` (incremental exports), `s3Bucket`, `s3Prefix`,
 * `s3SseAlgorithm`, `s3SseKmsKeyId`, `manifestFilesS3Key`, `billedSizeBytes`, `itemCount`, `outputFormat`
 * (`DYNAMODB_JSON` or `ION`) and `exportType` (`FULL_EXPORT` or `INCREMENTAL_EXPORT`; older full exports
 * omit it). The export's status (`IN_PROGRESS`, `COMPLETED`, `FAILED`) is the `ExportStatus` of the
 * DescribeExport API (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ExportDescription.html),
 * not a field of the summary: the summary only exists once the export completed.
 */
import { z } from "zod";
import { type ErrorCode, formatZodIssues, SnaplakeError } from "../errors.js";
import { ObjectNotFoundError } from "../storage/errors.js";
import type { Storage } from "../storage/types.js";
import { asFolder, baseName, joinUri, normalizeUri } from "../storage/uri.js";
import type { DataFile } from "./manifests.js";

/** The export formats snaplake reads: DynamoDB JSON, and Amazon Ion through ion-js. */
export const SUPPORTED_EXPORT_FORMATS = ["DYNAMODB_JSON", "ION"] as const;

/** The export's manifests are missing, malformed, or describe an export snaplake can't read. */
export class DynamoDbExportError extends SnaplakeError {
  readonly uri: string;
  constructor(code: ErrorCode, uri: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.uri = uri;
  }
}

export class DynamoDbExportNotCompletedError extends DynamoDbExportError {
  constructor(uri: string, detail: string) {
    super(
      "DYNAMODB_EXPORT_NOT_COMPLETED",
      uri,
      `DynamoDB export ${uri} is not COMPLETED: ${detail}. Wait until \`aws dynamodb describe-export\` reports ExportStatus COMPLETED, or point snapshot.dynamodbExport at a completed export`,
    );
  }
}

export class DynamoDbExportFormatError extends DynamoDbExportError {
  constructor(uri: string, format: string) {
    super(
      "DYNAMODB_EXPORT_FORMAT_UNSUPPORTED",
      uri,
      `${uri}: outputFormat ${format} is not supported; snaplake reads ${SUPPORTED_EXPORT_FORMATS.join(" and ")} exports. Export the table again with --export-format DYNAMODB_JSON`,
    );
  }
}

export class DynamoDbExportManifestError extends DynamoDbExportError {
  constructor(uri: string, problem: string, options?: { cause?: unknown }) {
    super("DYNAMODB_EXPORT_MANIFEST_INVALID", uri, `DynamoDB export manifest ${uri}: ${problem}`, options);
  }
}

const summarySchema = z.object({
  version: z.string().optional(),
  exportArn: z.string().min(1),
  startTime: z.string().nullish(),
  endTime: z.string().nullish(),
  tableArn: z.string().nullish(),
  tableId: z.string().nullish(),
  exportTime: z.string().nullish(),
  exportFromTime: z.string().nullish(),
  exportToTime: z.string().nullish(),
  s3Bucket: z.string().nullish(),
  s3Prefix: z.string().nullish(),
  manifestFilesS3Key: z.string().min(1),
  billedSizeBytes: z.number().nullish(),
  itemCount: z.number().int().nonnegative(),
  outputFormat: z.string().min(1),
  outputView: z.string().nullish(),
  exportType: z.string().nullish(),
  /** Not written by AWS (see the module comment); honoured when a tool copied DescribeExport's status in. */
  exportStatus: z.string().nullish(),
});

const fileEntrySchema = z.object({
  itemCount: z.number().int().nonnegative(),
  md5Checksum: z.string().min(1),
  etag: z.string().min(1),
  dataFileS3Key: z.string().min(1),
});

export type DynamoDbExportType = "FULL_EXPORT" | "INCREMENTAL_EXPORT";

/** One data file of the export: a step-0 `DataFile` (nRecord = the manifest's itemCount) plus its MD5. */
export interface DynamoDbExportDataFile extends DataFile {
  nRecord: number;
  /** Base64 MD5 of the file's bytes, as the manifest gives it. */
  md5Checksum: string;
}

export interface DynamoDbExport {
  /** The export folder, `.../AWSDynamoDB/<exportId>/`. */
  folder: string;
  summaryUri: string;
  manifestFilesUri: string;
  exportArn: string;
  exportType: DynamoDbExportType;
  /** Point in time of a full export; null for incremental exports (see exportFromTime/exportToTime). */
  exportTime: string | null;
  exportFromTime: string | null;
  exportToTime: string | null;
  /** `NEW_AND_OLD_IMAGES` or `NEW_IMAGE` for incremental exports, null otherwise. */
  outputView: string | null;
  itemCount: number;
  files: DynamoDbExportDataFile[];
}

const EXPORT_FOLDER = /(?:^|\/)AWSDynamoDB\/[^/]+\/(.+)$/;

/**
 * `prefix/AWSDynamoDB/<id>/data/x.json.gz` → `data/x.json.gz`: keys resolve inside the export folder, wherever
 * it was copied to. A key with `.`, `..` or empty segments could climb out of the folder (or name another
 * object by another spelling): it has no place in an export, so it is refused, as a key outside
 * `AWSDynamoDB/<id>/` is.
 */
function keyInExport(key: string): string | undefined {
  const relative = EXPORT_FOLDER.exec(key)?.[1];
  if (relative === undefined) return undefined;
  return relative.split("/").some((segment) => segment === "" || segment === "." || segment === "..")
    ? undefined
    : relative;
}

const OUTSIDE_EXPORT = "is not a key under AWSDynamoDB/<exportId>/ (without '.', '..' or empty segments)";

function parseJsonText(text: string, uri: string, line?: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const where = line === undefined ? "" : `line ${line}: `;
    throw new DynamoDbExportManifestError(uri, `${where}not valid JSON`, { cause: error });
  }
}

async function getOrNull(storage: Storage, uri: string): Promise<Buffer | null> {
  try {
    return await storage.get(uri);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}

/**
 * Reads a DynamoDB export's manifests: the export's details and its data files with their item counts,
 * etags (as AWS recorded them) and sizes (one listing of `data/`). Refuses an export that has not completed,
 * one in a format other than DYNAMODB_JSON, and a manifest naming a data file that is not there.
 */
export async function readDynamoDbExportManifest(
  storage: Storage,
  exportFolderUri: string,
): Promise<DynamoDbExport> {
  const folder = asFolder(normalizeUri(exportFolderUri));
  const summaryUri = joinUri(folder, "manifest-summary.json");
  const summaryBytes = await getOrNull(storage, summaryUri);
  if (summaryBytes === null) {
    if (await storage.exists(joinUri(folder, "_started"))) {
      throw new DynamoDbExportNotCompletedError(
        folder,
        "it has _started but no manifest-summary.json yet (the export is IN_PROGRESS, or it FAILED)",
      );
    }
    throw new DynamoDbExportManifestError(
      summaryUri,
      "missing: point snapshot.dynamodbExport at the export's own folder, s3://bucket/prefix/AWSDynamoDB/<exportId>/",
    );
  }
  const parsed = summarySchema.safeParse(parseJsonText(summaryBytes.toString("utf8"), summaryUri));
  if (!parsed.success) {
    throw new DynamoDbExportManifestError(summaryUri, formatZodIssues(parsed.error.issues).join("; "));
  }
  const summary = parsed.data;
  if (summary.exportStatus && summary.exportStatus !== "COMPLETED") {
    throw new DynamoDbExportNotCompletedError(folder, `${baseName(summaryUri)} says ${summary.exportStatus}`);
  }
  if (!(SUPPORTED_EXPORT_FORMATS as readonly string[]).includes(summary.outputFormat)) {
    throw new DynamoDbExportFormatError(summaryUri, summary.outputFormat);
  }
  const exportType = summary.exportType ?? "FULL_EXPORT";
  if (exportType !== "FULL_EXPORT" && exportType !== "INCREMENTAL_EXPORT") {
    throw new DynamoDbExportManifestError(
      summaryUri,
      `exportType: expected FULL_EXPORT or INCREMENTAL_EXPORT, got ${exportType}`,
    );
  }

  const filesKey = keyInExport(summary.manifestFilesS3Key);
  if (!filesKey) {
    throw new DynamoDbExportManifestError(
      summaryUri,
      `manifestFilesS3Key ${summary.manifestFilesS3Key} ${OUTSIDE_EXPORT}`,
    );
  }
  const manifestFilesUri = joinUri(folder, filesKey);
  const filesBytes = await getOrNull(storage, manifestFilesUri);
  if (filesBytes === null) {
    throw new DynamoDbExportNotCompletedError(
      folder,
      `${summaryUri} names ${manifestFilesUri}, which is missing`,
    );
  }

  const sizes = new Map<string, number>();
  for await (const object of storage.listSummaries(joinUri(folder, "data/")))
    sizes.set(object.uri, object.size);

  const files: DynamoDbExportDataFile[] = [];
  const lines = filesBytes.toString("utf8").split("\n");
  for (let index = 0; index < lines.length; index++) {
    const text = lines[index]!.trim();
    if (text === "") continue;
    const line = index + 1;
    const entry = fileEntrySchema.safeParse(parseJsonText(text, manifestFilesUri, line));
    if (!entry.success) {
      const issues = formatZodIssues(entry.error.issues).join("; ");
      throw new DynamoDbExportManifestError(manifestFilesUri, `line ${line}: ${issues}`);
    }
    const key = keyInExport(entry.data.dataFileS3Key);
    if (!key) {
      throw new DynamoDbExportManifestError(
        manifestFilesUri,
        `line ${line}: dataFileS3Key ${entry.data.dataFileS3Key} ${OUTSIDE_EXPORT}`,
      );
    }
    const uri = joinUri(folder, key);
    const size = sizes.get(uri);
    if (size === undefined) {
      throw new DynamoDbExportManifestError(manifestFilesUri, `line ${line}: data file ${uri} is missing`);
    }
    files.push({
      uri,
      etag: entry.data.etag,
      size,
      nRecord: entry.data.itemCount,
      md5Checksum: entry.data.md5Checksum,
    });
  }

  return {
    folder,
    summaryUri,
    manifestFilesUri,
    exportArn: summary.exportArn,
    exportType,
    exportTime: summary.exportTime ?? null,
    exportFromTime: summary.exportFromTime ?? null,
    exportToTime: summary.exportToTime ?? null,
    outputView: summary.outputView ?? null,
    itemCount: summary.itemCount,
    files,
  };
}
