/** `reader.format: "parquet"`: Parquet files, each read whole. */
import pl from "nodejs-polars";
import { z } from "zod";
import { type Decode, eachFile } from "./each-file.js";
import { readerFormat } from "./format.js";

export const decodeParquet: Decode = (bytes) => pl.readParquet(bytes);

export const parquetFormat = readerFormat({
  description: "Parquet files.",
  options: z.object({}).strict(),
  reader: () => eachFile(decodeParquet),
});
