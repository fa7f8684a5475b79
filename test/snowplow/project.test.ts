/**
 * SnowplowEnrichedProject end to end on s3rver + dynalite: every input line is accounted for (kept, bad, or
 * dropped as a duplicate), and with the event manifest, events already loaded by an earlier batch are dropped.
 */
import { gzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { EventManifest } from "../../src/snowplow/event-manifest.js";
import { EnrichedEventGenerator } from "../../src/snowplow/generator.js";
import { SnowplowEnrichedProject } from "../../src/snowplow/project.js";
import { readEnrichedEvents } from "../../src/snowplow/reader.js";
import { testDynamoClient, uniqueName } from "../support/clients.js";
import { createTestContext, readLake } from "../support/orders-project.js";

/** Replaces the etl_tstamp (field 2) of each good line: the same events, loaded again by a later batch. */
function reloaded(lines: string[], etl: string): string[] {
  return lines.map((line) => {
    const fields = line.split("\t");
    fields[2] = etl;
    return fields.join("\t");
  });
}

describe("SnowplowEnrichedProject", () => {
  it("reconciles lines and drops events an earlier batch already loaded (event manifest)", async () => {
    const context = await createTestContext("s3");
    const generator = new EnrichedEventGenerator({ seed: 11, badShare: 0.02 });
    const first = generator.lines(3000).replace(/\n$/, "").split("\n");
    // Batch 2: 400 distinct good, fingerprinted events of batch 1 seen again with a later etl_tstamp, plus new ones.
    const good = readEnrichedEvents(Buffer.from(`${first.join("\n")}\n`), {
      source: "batch 1",
      lineNumbers: true,
    }).events;
    const picked = good
      .filter(pl.col("event_fingerprint").isNotNull())
      .unique({ subset: ["event_id", "event_fingerprint"], keep: "none" })
      .sort("line_number")
      .head(400)
      .getColumn("line_number")
      .toArray() as number[];
    const again = reloaded(
      picked.map((n) => first[n - 1]!),
      "2030-01-01 00:00:00.000",
    );
    generator.startBatch();
    const fresh = generator.lines(1000).replace(/\n$/, "").split("\n");
    const archive = `${context.root}archive/`;
    await context.storage.put(`${archive}run=2024-03-01-00-00-00/part-00000`, `${first.join("\n")}\n`);
    await context.storage.put(
      `${archive}run=2024-03-01-01-00-00/part-00000.gz`,
      gzipSync(`${[...again, ...fresh].join("\n")}\n`),
    );
    await context.storage.put(`${archive}run=2024-03-01-01-00-00/_SUCCESS`, "");

    const manifest = new EventManifest(testDynamoClient(context.dynamoEndpoint), uniqueName("events"));
    await manifest.create();
    const config = {
      projectId: uniqueName("snowplow"),
      snapshot: { uri: archive },
      stagingUri: `${context.root}staging/`,
      datalakeUri: `${context.root}lake/`,
      targetFileGroupSize: 1, // one file per group: each run file is its own batch
      targetParquetFileSize: "4MB",
    };
    const project = new SnowplowEnrichedProject(config, context, { eventManifest: manifest });
    const { validation } = await project.runAll();
    expect(validation.ok).toBe(true);

    const lines = first.length + again.length + fresh.length;
    expect(validation.staging.rowsRead).toBe(lines);
    const dropped = validation.staging.dropped;
    expect(dropped["cross-batch-duplicates"]).toBe(400);
    expect(validation.staging.badRows + validation.lake.rows + dropped["natural-duplicates"]! + 400).toBe(
      lines,
    );
    expect(validation.staging.badRows).toBe(generator.truth.bad);

    // Bad rows name their file and line.
    const badText = [];
    for await (const o of context.storage.list(`${context.root}staging/${project.projectId}/bad-rows/`))
      badText.push((await context.storage.get(o.uri)).toString());
    const badRows = badText
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(badRows).toHaveLength(validation.staging.badRows);
    expect(badRows.every((r) => r.source.startsWith(archive) && r.line >= 1 && r.errors.length > 0)).toBe(
      true,
    );
    const sample = badRows.find((r) => r.source.endsWith("part-00000"))!;
    expect(first[sample.line - 1]).toBe(sample.raw);

    // The lake holds typed events partitioned by date, sorted by collector_tstamp.
    const lake = await readLake(context.storage, `${context.root}lake/`);
    expect(lake.every((f) => f.partition.startsWith("event_date="))).toBe(true);
    const events = pl.concat(lake.map((f) => f.frame));
    expect(String(events.getColumn("collector_tstamp").dtype)).toContain("Datetime");
    expect(events.height).toBe(validation.lake.rows);

    // Re-running the same batches is not mistaken for duplicates: same etlTime, same result.
    await project.tracker.reset(project.projectId, "1.3-snapshot-to-staging", { statuses: ["succeeded"] });
    for (const task of await project.step1_2ListSnapshotGroupsTodo()) {
      expect((await project.step1_3ProcessSnapshotGroup(task.taskId)).outcome).toBe("succeeded");
    }
    const rerun = await project.step3ValidateDatalake();
    expect(rerun.staging.dropped).toEqual(dropped);
    expect(rerun.lake.rows).toBe(validation.lake.rows);
  }, 180_000);
});
