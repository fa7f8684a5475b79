/** `reader.format: "ndjson"`: newline-delimited JSON, one object a line. */
import pl from "nodejs-polars";
import { z } from "zod";
import { type Decode, eachFile } from "./each-file.js";
import { readerFormat } from "./format.js";

export const decodeNdjson: Decode = (bytes) => pl.readJSON(bytes, { format: "lines" });

export const ndjsonFormat = readerFormat({
  description: "Newline-delimited JSON files, plain or gzip.",
  options: z.object({}).strict(),
  reader: () => eachFile(decodeNdjson),
});
