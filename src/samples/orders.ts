/**
 * A deterministic sample snapshot: `orders` rows spread over 2021-2022, written as several Parquet files.
 * Used by the tests, the orders example and the benchmark. Optionally repeats some order ids with a later
 * `updated_at` (as CDC exports do), so de-duplication has work to do.
 */
import pl from "nodejs-polars";
import type { Storage } from "../storage/types.js";
import { joinUri } from "../storage/uri.js";
import { seededRandom } from "./random.js";

export interface OrdersSnapshotOptions {
  rows: number;
  files: number;
  seed?: number;
  /** Share of extra rows that repeat an earlier order id with a later update time (0..1). */
  duplicateShare?: number;
}

export interface OrdersSnapshot {
  uris: string[];
  rows: number;
  /** Distinct order ids (the rows left after keeping the latest per id). */
  distinctOrders: number;
}

const START = Date.UTC(2021, 0, 1);
const SPAN = Date.UTC(2023, 0, 1) - START;
const STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled"];

export function ordersFrame(options: OrdersSnapshotOptions): pl.DataFrame {
  const rand = seededRandom(options.seed ?? 42);
  const distinct = options.rows;
  const duplicates = Math.floor(distinct * (options.duplicateShare ?? 0));
  const total = distinct + duplicates;
  const ids: string[] = new Array(total);
  const customers = new Int32Array(total);
  const orderTimes = new Float64Array(total);
  const updatedAt = new Float64Array(total);
  const amounts = new Float64Array(total);
  const statuses: string[] = new Array(total);
  for (let i = 0; i < total; i++) {
    const isDuplicate = i >= distinct;
    const n = isDuplicate ? Math.floor(rand() * distinct) : i;
    ids[i] = `order-${String(n).padStart(9, "0")}`;
    customers[i] = Math.floor(rand() * 50_000);
    // The same order keeps its order time; a duplicate is a later update of it.
    orderTimes[i] = isDuplicate ? orderTimes[n]! : START + Math.floor(rand() * SPAN);
    updatedAt[i] = orderTimes[i]! + Math.floor(rand() * 86_400_000) + (isDuplicate ? 86_400_000 : 0);
    amounts[i] = Math.round(rand() * 100_000) / 100;
    statuses[i] = STATUSES[Math.floor(rand() * STATUSES.length)]!;
  }
  return pl.DataFrame({
    order_id: pl.Series("order_id", ids, pl.Utf8),
    customer_id: pl.Series("customer_id", customers, pl.Int32),
    order_time: pl.Series("order_time", orderTimes, pl.Float64).cast(pl.Int64).cast(pl.Datetime("ms")),
    updated_at: pl.Series("updated_at", updatedAt, pl.Float64).cast(pl.Int64).cast(pl.Datetime("ms")),
    amount: pl.Series("amount", amounts, pl.Float64),
    status: pl.Series("status", statuses, pl.Utf8),
  });
}

/** Writes the snapshot as `files` Parquet files `part-00000.parquet`... under `folderUri`. */
export async function writeOrdersSnapshot(
  storage: Storage,
  folderUri: string,
  options: OrdersSnapshotOptions,
): Promise<OrdersSnapshot> {
  const frame = ordersFrame(options);
  const perFile = Math.ceil(frame.height / options.files);
  const uris: string[] = [];
  for (let i = 0; i < options.files; i++) {
    const slice = frame.slice(i * perFile, perFile);
    if (slice.height === 0) break;
    const uri = joinUri(folderUri, `part-${String(i).padStart(5, "0")}.parquet`);
    await storage.put(uri, slice.writeParquet({ compression: "snappy" }));
    uris.push(uri);
  }
  return { uris, rows: frame.height, distinctOrders: options.rows };
}
