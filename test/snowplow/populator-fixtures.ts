/**
 * A tiny enriched-archive builder for the populator tests: every line's event_id, etl_tstamp and
 * fingerprint are chosen by the test, so expected counts are exact.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { ENRICHED_FIELD_COUNT, FIELD_INDEX } from "../../src/snowplow/fields.js";

export interface LineSpec {
  eventId?: string;
  etlTstamp?: string;
  fingerprint?: string;
  /** Drop or add trailing fields to get a wrong field count. */
  fieldCount?: number;
}

export function enrichedLine(spec: LineSpec): string {
  const fields = new Array<string>(ENRICHED_FIELD_COUNT).fill("");
  fields[FIELD_INDEX.app_id] = "shop";
  fields[FIELD_INDEX.platform] = "web";
  fields[FIELD_INDEX.etl_tstamp] = spec.etlTstamp ?? "2017-02-21 11:40:15.123";
  fields[FIELD_INDEX.collector_tstamp] = "2017-02-21 11:39:00.000";
  fields[FIELD_INDEX.event] = "page_view";
  fields[FIELD_INDEX.event_id] = spec.eventId ?? "";
  fields[FIELD_INDEX.v_collector] = "ssc-0.9.0-kinesis";
  fields[FIELD_INDEX.v_etl] = "spark-1.9.0-common-0.25.0";
  fields[FIELD_INDEX.event_fingerprint] = spec.fingerprint ?? "";
  const count = spec.fieldCount ?? ENRICHED_FIELD_COUNT;
  while (fields.length > count) fields.pop();
  while (fields.length < count) fields.push("");
  return fields.join("\t");
}

/** `count` good lines with ids `${prefix}-0..`, fingerprints `fp-${i}` and the given etl_tstamp. */
export function goodLines(prefix: string, count: number, etlTstamp = "2017-02-21 11:40:15.123"): string[] {
  return Array.from({ length: count }, (_, i) =>
    enrichedLine({ eventId: `${prefix}-${i}`, fingerprint: `fp-${i}`, etlTstamp }),
  );
}

export interface ArchiveFileSpec {
  /** Path relative to the archive root, e.g. `run=2017-02-21-11-40-15/part-00000.gz`. */
  path: string;
  lines?: string[];
  /** Raw content instead of lines (e.g. an empty _SUCCESS). */
  content?: string;
  gzip?: boolean;
}

function fileBytes(file: ArchiveFileSpec): Buffer {
  const text = file.content ?? `${(file.lines ?? []).join("\n")}\n`;
  return file.gzip ? gzipSync(text) : Buffer.from(text);
}

export async function writeLocalArchive(root: string, files: ArchiveFileSpec[]): Promise<void> {
  for (const file of files) {
    const target = join(root, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, fileBytes(file));
  }
}

export async function writeS3Archive(s3: S3Client, bucket: string, prefix: string, files: ArchiveFileSpec[]) {
  for (const file of files) {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${file.path}`, Body: fileBytes(file) }),
    );
  }
}

export const RESOLVER_CONFIG = {
  schema: "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-1",
  data: {
    cacheSize: 500,
    repositories: [
      {
        name: "Iglu Central",
        priority: 0,
        vendorPrefixes: ["com.snowplowanalytics"],
        connection: { http: { uri: "http://iglucentral.com" } },
      },
    ],
  },
};

/** A 1-0-0 storage config with static keys (letters and digits only: DynamoDB Local's rule). */
export function storageConfig100(table: string, secret = "Secret0Key0Never0Printed0123456789") {
  return {
    schema: "iglu:com.snowplowanalytics.snowplow.storage/amazon_dynamodb_config/jsonschema/1-0-0",
    data: {
      name: "events manifest",
      accessKeyId: "AKIAPOPULATORTEST01",
      secretAccessKey: secret,
      awsRegion: "us-east-1",
      dynamodbTable: table,
      purpose: "DUPLICATE_TRACKING",
    },
  };
}
