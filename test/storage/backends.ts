/** The two storage backends the contract suite runs on: s3rver (real S3 protocol) and a local temp folder. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage } from "../../src/storage/create.js";
import { BucketNotFoundError, OutsideRootError } from "../../src/storage/errors.js";
import type { Storage } from "../../src/storage/types.js";
import { createTestBucket, testS3Client, uniqueName } from "../support/clients.js";

export interface BackendUnderTest {
  storage: Storage;
  /** Folder URI (trailing slash) owned by this test file. */
  base: string;
  /** An object URI the backend must refuse, and the error it must refuse it with. */
  unreachable: { uri: string; error: new (...args: never[]) => Error };
  cleanup(): Promise<void>;
}

export interface BackendFactory {
  name: "s3rver" | "local";
  create(): Promise<BackendUnderTest>;
}

export const backendFactories: BackendFactory[] = [
  {
    name: "s3rver",
    async create() {
      const client = testS3Client();
      const bucket = await createTestBucket(client, "storage");
      return {
        storage: createStorage({ s3: client }),
        base: `s3://${bucket}/`,
        unreachable: { uri: `s3://${uniqueName("no-such-bucket")}/a/b.json`, error: BucketNotFoundError },
        cleanup: async () => client.destroy(),
      };
    },
  },
  {
    name: "local",
    async create() {
      const root = await mkdtemp(join(tmpdir(), "snaplake-storage-"));
      return {
        storage: createStorage({ localRoot: root }),
        base: `file://${root}/`,
        unreachable: { uri: `file://${root}-sibling/a/b.json`, error: OutsideRootError },
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
  },
];
