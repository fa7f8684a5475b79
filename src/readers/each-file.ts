/**
 * Readers of formats that decode every file of a group on its own (Parquet, CSV, NDJSON, `auto`). gzip
 * content is already inflated by the read context.
 */
import pl from "nodejs-polars";
import type { BatchReadSnapshotDataFile } from "./types.js";

/** True when the bytes hold nothing but whitespace (stops at the first other byte). */
function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes)
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
  return true;
}

export type Decode = (bytes: Buffer, uri: string) => pl.DataFrame;

/**
 * A reader decoding each file of the group on its own. An empty file (DynamoDB exports write them for empty
 * partitions) has no rows and no schema; polars refuses to infer one from nothing.
 */
export const eachFile =
  (decode: Decode): BatchReadSnapshotDataFile =>
  (_group, context) =>
    context.readEach((bytes, uri) => (isBlank(bytes) ? pl.DataFrame() : decode(bytes, uri)));
