/** Small Delta appends for maintenance tests: one writer's orders batch, one file per status partition. */
import pl from "nodejs-polars";
import { ordersFrame } from "../../src/samples/orders.js";
import type { Storage } from "../../src/storage/types.js";
import { joinUri } from "../../src/storage/uri.js";
import { commitToDeltaTable, type DeltaLogStore } from "../../src/table/delta/index.js";

export const STATUSES = ["cancelled", "delivered", "paid", "placed", "shipped"];

/** The rows of batch `seed`, as `appendOrdersBatch` writes them (status back as a column). */
export const ordersBatch = (seed: number) => ordersFrame({ rows: 1500, files: 1, seed });

/** Appends batch `seed` as writer `append-{seed}`: sorted by order time, the status only in the path. */
export async function appendOrdersBatch(
  storage: Storage,
  lake: string,
  seed: number,
  logStore?: DeltaLogStore,
): Promise<void> {
  const frame = ordersBatch(seed).sort(["order_time", "order_id"]);
  const files: string[] = [];
  for (const status of STATUSES) {
    const part = frame.filter(pl.col("status").eq(pl.lit(status))).drop("status");
    const uri = joinUri(lake, `status=${status}/part-append-${seed}.parquet`);
    await storage.put(uri, part.writeParquet({ compression: "zstd" }));
    files.push(uri);
  }
  await commitToDeltaTable({
    storage,
    tableUri: lake,
    projectId: `append-${seed}`,
    mode: "append",
    files,
    partitionColumns: ["status"],
    ...(logStore ? { logStore } : {}),
  });
}
