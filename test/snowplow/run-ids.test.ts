import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import {
  formatRunFolderName,
  isArchivedRun,
  listRunIds,
  listRuns,
  parseRunFolderName,
  parseSince,
} from "../../src/snowplow/run-ids.js";
import { createStorage } from "../../src/storage/create.js";
import type { ObjectInfo, ObjectSummary, Storage } from "../../src/storage/types.js";
import { createTestBucket, testS3Client } from "../support/clients.js";
import { tempDir } from "../support/temp-dir.js";

function runName(i: number): string {
  return formatRunFolderName(new Date(Date.UTC(2017, 0, 1) + i * 3_600_000));
}

describe("run folder names", () => {
  it("accepts only run=YYYY-MM-DD-HH-mm-ss with a real calendar date and time", () => {
    expect(parseRunFolderName("run=2017-02-21-11-40-15")?.toISOString()).toBe("2017-02-21T11:40:15.000Z");
    expect(parseRunFolderName("run=2016-02-29-00-00-00")?.toISOString()).toBe("2016-02-29T00:00:00.000Z");
    for (const name of [
      "run=2017-02-30-00-00-00",
      "run=2017-02-29-00-00-00",
      "run=2017-13-01-00-00-00",
      "run=2017-01-01-24-00-00",
      "run=2017-01-01-00-60-00",
      "run=2017-01-01-00-00-60",
      "run-2017-01-01-00-00-00",
      "2017-01-01-00-00-00",
      "run=2017-01-01-00-00-00x",
      "run=2017-1-01-00-00-00",
      "tmp",
    ]) {
      expect(parseRunFolderName(name), name).toBeNull();
    }
  });

  it("formats the folder name of a date in UTC", () => {
    expect(formatRunFolderName(new Date("2024-03-01T05:06:07.890Z"))).toBe("run=2024-03-01-05-06-07");
  });

  it("parses --since as a UTC date or date-time and rejects anything else", () => {
    expect(parseSince("2017-02-21").toISOString()).toBe("2017-02-21T00:00:00.000Z");
    expect(parseSince("2017-02-21-11-40-15").toISOString()).toBe("2017-02-21T11:40:15.000Z");
    expect(() => parseSince("2017-02-30")).toThrow(ConfigError);
    expect(() => parseSince("2017/02/21")).toThrow(/YYYY-MM-dd/);
    expect(() => parseSince("2017-02-21 11:40:15")).toThrow(ConfigError);
  });
});

describe("listRunIds on S3 (s3rver)", () => {
  const s3 = testS3Client();
  const storage = createStorage({ s3 });
  let bucket: string;
  const runCount = 1005;

  beforeAll(async () => {
    bucket = await createTestBucket(s3, "runs");
    // s3rver reports a common prefix only when an object sits exactly one level below it.
    const keys = [
      ...Array.from({ length: runCount }, (_, i) => `enriched/archive/${runName(i)}/part-00000`),
      "enriched/archive/run=2017-02-30-00-00-00/part-00000",
      "enriched/archive/run-2017-01-01-00-00-00/part-00000",
      "enriched/archive/tmp/part-00000",
      "enriched/archive/run=2017-01-01-00-00-00.bak/part-00000",
      "enriched/archive/stray-file",
      "enriched/other/run=2018-01-01-00-00-00/part-00000",
      "run=2019-05-05-05-05-05/part-00000",
    ];
    const limit = pLimit(32);
    await Promise.all(
      keys.map((Key) => limit(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: "x" })))),
    );
  }, 120_000);

  it("follows every page and returns bucket-relative run prefixes in chronological order", async () => {
    // includeArchived: s3rver takes ~13 ms per probe listing; probing is covered below on fewer runs.
    const ids = await listRunIds(storage, `s3://${bucket}/enriched/archive`, { includeArchived: true });
    expect(ids).toHaveLength(runCount);
    expect(ids[0]).toBe(`enriched/archive/${runName(0)}/`);
    expect(ids.at(-1)).toBe(`enriched/archive/${runName(runCount - 1)}/`);
    expect(ids).toEqual(Array.from({ length: runCount }, (_, i) => `enriched/archive/${runName(i)}/`));
  });

  it("accepts s3a://, s3n://, a trailing slash and a bare S3Client", async () => {
    const viaS3a = await listRunIds(storage, `s3a://${bucket}/enriched/archive/`, { includeArchived: true });
    const viaS3n = await listRunIds(s3, `s3n://${bucket}/enriched/archive`, { includeArchived: true });
    expect(viaS3a).toHaveLength(runCount);
    expect(viaS3n).toEqual(viaS3a);
  });

  it("probes each run for archived data by default (STANDARD runs are kept)", async () => {
    expect(await listRunIds(storage, `s3://${bucket}/enriched/other`)).toEqual([
      "enriched/other/run=2018-01-01-00-00-00/",
    ]);
  });

  it("lists runs at the bucket root", async () => {
    expect(await listRunIds(storage, `s3://${bucket}`)).toEqual(["run=2019-05-05-05-05-05/"]);
    const runs = await listRuns(storage, `s3://${bucket}/`);
    expect(runs.map((r) => r.uri)).toEqual([`s3://${bucket}/run=2019-05-05-05-05-05/`]);
  });
});

/**
 * s3rver ignores StorageClass on PutObject and lists every object as STANDARD, so the archived filter is
 * exercised on a real local folder whose listing reports the storage classes an S3 listing would.
 */
function withStorageClasses(storage: Storage, classOf: (uri: string) => string | undefined): Storage {
  return {
    ...storage,
    listFolders: (uri) => storage.listFolders(uri),
    async *list(prefix): AsyncIterable<ObjectInfo> {
      for await (const object of storage.list(prefix)) {
        yield { ...object, storageClass: classOf(object.uri) ?? object.storageClass };
      }
    },
    async *listSummaries(prefix): AsyncIterable<ObjectSummary> {
      for await (const object of storage.listSummaries(prefix)) {
        yield { ...object, storageClass: classOf(object.uri) ?? object.storageClass };
      }
    },
  };
}

describe("listRunIds on local folders", () => {
  let root: string;

  beforeAll(async () => {
    root = tempDir("snaplake-runs-");
    const files = [
      "run=2017-01-01-00-00-00/part-00000",
      "run=2017-01-02-00-00-00/part-00000.gz",
      "run=2017-01-02-00-00-00/_SUCCESS",
      "run=2017-01-03-00-00-00/part-00000",
      "run=2017-01-04-00-00-00/part-00000",
      "run=2017-01-05-00-00-00/part-00000",
      "run=2017-02-30-00-00-00/part-00000",
      "notes/readme.txt",
    ];
    for (const file of files) {
      await mkdir(join(root, file, ".."), { recursive: true });
      await writeFile(join(root, file), file.endsWith("_SUCCESS") ? "" : "data");
    }
  });

  it("returns paths relative to the filesystem root with a trailing slash, oldest first", async () => {
    const ids = await listRunIds(createStorage(), root);
    const base = root.replace(/^\//, "");
    expect(ids).toEqual([
      `${base}/run=2017-01-01-00-00-00/`,
      `${base}/run=2017-01-02-00-00-00/`,
      `${base}/run=2017-01-03-00-00-00/`,
      `${base}/run=2017-01-04-00-00-00/`,
      `${base}/run=2017-01-05-00-00-00/`,
    ]);
    expect(await listRunIds(createStorage(), `file://${root}/`)).toEqual(ids);
  });

  it("skips runs with data in GLACIER or DEEP_ARCHIVE unless includeArchived; GLACIER_IR stays", async () => {
    const classes: Record<string, string> = {
      "run=2017-01-02-00-00-00/_SUCCESS": "GLACIER", // markers don't count
      "run=2017-01-03-00-00-00/part-00000": "GLACIER",
      "run=2017-01-04-00-00-00/part-00000": "DEEP_ARCHIVE",
      "run=2017-01-05-00-00-00/part-00000": "GLACIER_IR",
    };
    const storage = withStorageClasses(
      createStorage(),
      (uri) => classes[uri.slice(`file://${root}/`.length)],
    );
    const names = (ids: string[]) => ids.map((id) => id.split("/").at(-2));
    expect(names(await listRunIds(storage, root))).toEqual([
      "run=2017-01-01-00-00-00",
      "run=2017-01-02-00-00-00",
      "run=2017-01-05-00-00-00",
    ]);
    expect(await listRunIds(storage, root, { includeArchived: true })).toHaveLength(5);
    expect(await isArchivedRun(storage, `${root}/run=2017-01-03-00-00-00/`)).toBe(true);
    expect(await isArchivedRun(storage, `${root}/run=2017-01-02-00-00-00`)).toBe(false);
  });
});
