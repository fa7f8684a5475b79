import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { readSnapshotManifest } from "../src/models/manifests.js";
import { writeOrdersSnapshot } from "../src/samples/orders.js";
import {
  createTestContext,
  OrdersProject,
  ordersConfig,
  type TestContext,
} from "./support/orders-project.js";

const contexts: TestContext[] = [];
afterEach(() => {
  for (const context of contexts.splice(0))
    rmSync(fileURLToPath(context.root), { recursive: true, force: true });
});

describe("projects sharing a stagingUri", () => {
  it("each keep their own manifests and staging, and both validate after the other ran", async () => {
    const context = await createTestContext("local");
    contexts.push(context);
    const first = await writeOrdersSnapshot(context.storage, `${context.root}snapshot-a/`, {
      rows: 6_000,
      files: 2,
    });
    const second = await writeOrdersSnapshot(context.storage, `${context.root}snapshot-b/`, {
      rows: 9_000,
      files: 3,
    });
    const shared = `${context.root}staging/`;
    const a = new OrdersProject(
      ordersConfig(context, {
        snapshot: { uri: `${context.root}snapshot-a/` },
        stagingUri: shared,
        datalakeUri: `${context.root}lake-a/`,
      }),
      context,
    );
    const b = new OrdersProject(
      ordersConfig(context, {
        snapshot: { uri: `${context.root}snapshot-b/` },
        stagingUri: shared,
        datalakeUri: `${context.root}lake-b/`,
      }),
      context,
    );
    expect((await a.runAll()).validation.lake.rows).toBe(first.rows);
    expect((await b.runAll()).validation.lake.rows).toBe(second.rows);

    expect(a.locations.snapshotManifestSummary).toBe(
      `${shared}${a.projectId}/manifests/snapshot/manifest-summary.json`,
    );
    expect(b.locations.stagingData).toBe(`${shared}${b.projectId}/datalake/`);
    // A's manifest still lists A's files after B ran, and A's lake still adds up against its own staging.
    const manifestA = await readSnapshotManifest(context.storage, a.locations.snapshotManifestSummary);
    expect(manifestA.files.map((f) => f.uri).sort()).toEqual([...first.uris].sort());
    const manifestB = await readSnapshotManifest(context.storage, b.locations.snapshotManifestSummary);
    expect(manifestB.files.map((f) => f.uri).sort()).toEqual([...second.uris].sort());
    const revalidated = await new OrdersProject(a.config, context).step3ValidateDatalake();
    expect(revalidated.ok).toBe(true);
    expect(revalidated.lake.rows).toBe(first.rows);
  }, 120_000);
});
