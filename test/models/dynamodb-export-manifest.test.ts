/** The export's own manifests, on a local folder and on s3rver: data files with counts, and the refusals. */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DynamoDbExportFormatError,
  DynamoDbExportManifestError,
  DynamoDbExportNotCompletedError,
  readDynamoDbExportManifest,
} from "../../src/models/dynamodb-export-manifest.js";
import type { Storage } from "../../src/storage/types.js";
import { joinUri } from "../../src/storage/uri.js";
import { generateDynamoDbExport } from "../../src/testing/dynamodb-export.js";
import { type BackendUnderTest, backendFactories } from "../storage/backends.js";

describe.each(backendFactories)("DynamoDB export manifests on $name", (factory) => {
  let backend: BackendUnderTest;
  let storage: Storage;

  beforeAll(async () => {
    backend = await factory.create();
    storage = backend.storage;
  });
  afterAll(() => backend.cleanup());

  const summaryOf = async (folder: string) =>
    JSON.parse((await storage.get(joinUri(folder, "manifest-summary.json"))).toString("utf8"));
  const rewriteSummary = async (folder: string, change: Record<string, unknown>) =>
    storage.put(
      joinUri(folder, "manifest-summary.json"),
      JSON.stringify({ ...(await summaryOf(folder)), ...change }),
    );

  it("lists every data file with its item count, the etag AWS recorded and its size", async () => {
    const generated = await generateDynamoDbExport(storage, {
      baseUri: `${backend.base}listing/`,
      itemCount: 300,
      fileCount: 5,
      seed: 7,
    });
    const exported = await readDynamoDbExportManifest(storage, generated.folder);

    expect(exported.folder).toBe(generated.folder);
    expect(exported.exportArn).toBe(generated.exportArn);
    expect(exported.exportType).toBe("FULL_EXPORT");
    expect(exported.exportTime).toBe("2024-06-01T00:00:00.000Z");
    expect(exported.itemCount).toBe(300);
    expect(exported.files.map((f) => f.uri).sort()).toEqual(generated.files.map((f) => f.uri).sort());
    for (const file of exported.files) {
      const written = generated.files.find((f) => f.uri === file.uri)!;
      const bytes = await storage.get(file.uri);
      const head = await storage.head(file.uri);
      expect(file.nRecord).toBe(written.items.length);
      expect(file.size).toBe(bytes.length);
      expect(file.etag).toBe(head.etag);
      expect(file.md5Checksum).toBe(createHash("md5").update(bytes).digest("base64"));
    }
    expect(exported.files.reduce((sum, f) => sum + f.nRecord, 0)).toBe(300);
  });

  it("refuses an export still in progress (_started, no summary yet)", async () => {
    const generated = await generateDynamoDbExport(storage, {
      baseUri: `${backend.base}in-progress/`,
      itemCount: 10,
      inProgress: true,
    });
    const reading = readDynamoDbExportManifest(storage, generated.folder);
    await expect(reading).rejects.toBeInstanceOf(DynamoDbExportNotCompletedError);
    await expect(reading).rejects.toThrow(/not COMPLETED.*IN_PROGRESS/);
  });

  it("refuses a summary whose status is not COMPLETED", async () => {
    const generated = await generateDynamoDbExport(storage, {
      baseUri: `${backend.base}status/`,
      itemCount: 10,
    });
    await rewriteSummary(generated.folder, { exportStatus: "IN_PROGRESS" });
    const reading = readDynamoDbExportManifest(storage, generated.folder);
    await expect(reading).rejects.toBeInstanceOf(DynamoDbExportNotCompletedError);
    await expect(reading).rejects.toThrow(/says IN_PROGRESS/);
  });

  it("refuses an output format other than DYNAMODB_JSON and ION, naming both", async () => {
    const generated = await generateDynamoDbExport(storage, {
      baseUri: `${backend.base}ion/`,
      itemCount: 10,
    });
    await rewriteSummary(generated.folder, { outputFormat: "CSV" });
    const reading = readDynamoDbExportManifest(storage, generated.folder);
    await expect(reading).rejects.toBeInstanceOf(DynamoDbExportFormatError);
    await expect(reading).rejects.toThrow(/outputFormat CSV is not supported.*reads DYNAMODB_JSON and ION/);
  });

  it("refuses a folder without manifests, and names the file and line of a bad manifest entry", async () => {
    await storage.put(`${backend.base}not-an-export/data/x.json.gz`, "x");
    await expect(readDynamoDbExportManifest(storage, `${backend.base}not-an-export/`)).rejects.toThrow(
      /not-an-export\/manifest-summary\.json: missing/,
    );

    const generated = await generateDynamoDbExport(storage, {
      baseUri: `${backend.base}bad-entry/`,
      itemCount: 20,
      fileCount: 3,
    });
    const filesUri = joinUri(generated.folder, "manifest-files.json");
    const lines = (await storage.get(filesUri)).toString("utf8").trim().split("\n");
    const broken = [lines[0], JSON.stringify({ ...JSON.parse(lines[1]!), itemCount: "seven" }), lines[2]];
    await storage.put(filesUri, `${broken.join("\n")}\n`);
    const reading = readDynamoDbExportManifest(storage, generated.folder);
    await expect(reading).rejects.toBeInstanceOf(DynamoDbExportManifestError);
    await expect(reading).rejects.toThrow(/manifest-files\.json: line 2: itemCount/);

    const gone = generated.files[2]!.uri;
    await storage.put(filesUri, `${lines.join("\n")}\n`);
    await storage.delete([gone]);
    await expect(readDynamoDbExportManifest(storage, generated.folder)).rejects.toThrow(
      `line 3: data file ${gone} is missing`,
    );
  });

  it.each([
    ["a '..' segment", (key: string) => key.replace("/data/", "/data/../../../")],
    ["a '.' segment", (key: string) => key.replace("/data/", "/./data/")],
    ["an empty segment", (key: string) => key.replace("/data/", "/data//")],
    ["a key outside the export", (key: string) => `elsewhere/${key.slice(key.indexOf("data/"))}`],
  ])("refuses a dataFileS3Key with %s, naming the manifest and line", async (_name, tamper) => {
    const generated = await generateDynamoDbExport(storage, {
      baseUri: `${backend.base}escape-${_name.length}-${_name.charCodeAt(2)}/`,
      itemCount: 10,
      fileCount: 2,
    });
    const filesUri = joinUri(generated.folder, "manifest-files.json");
    const lines = (await storage.get(filesUri)).toString("utf8").trim().split("\n");
    const entry = JSON.parse(lines[1]!);
    lines[1] = JSON.stringify({ ...entry, dataFileS3Key: tamper(entry.dataFileS3Key) });
    await storage.put(filesUri, `${lines.join("\n")}\n`);
    const reading = readDynamoDbExportManifest(storage, generated.folder);
    await expect(reading).rejects.toBeInstanceOf(DynamoDbExportManifestError);
    await expect(reading).rejects.toThrow(
      /manifest-files\.json: line 2: dataFileS3Key .* is not a key under AWSDynamoDB\/<exportId>\//,
    );
  });
});
