/**
 * Harmonises the schemas of frames read from different files before concatenation: missing columns become
 * nulls, types widen safely (Int8 < Int16 < Int32 < Int64, unsigned to a wider signed int, ints to Float64,
 * Float32 to Float64, Categorical to String, Null to anything). Anything else is an incompatible type: an
 * error naming the column and the files.
 */
import pl from "nodejs-polars";
import { SnaplakeError } from "../errors.js";
import { dtypeName, frameSchema } from "./convert.js";

export class SchemaConflictError extends SnaplakeError {
  readonly column: string;
  constructor(column: string, types: Array<{ type: string; sources: string[] }>) {
    const detail = types.map((t) => `${t.type} in ${t.sources.join(", ")}`).join("; ");
    super(
      "SCHEMA_CONFLICT",
      `Column "${column}" has incompatible types across files: ${detail}. Cast it to one type in your reader.`,
    );
    this.column = column;
  }
}

const INT_RANK: Record<string, number> = { Int8: 1, Int16: 2, Int32: 3, Int64: 4 };
const UINT_RANK: Record<string, number> = { UInt8: 1, UInt16: 2, UInt32: 3, UInt64: 4 };
const INT_BY_RANK = [pl.Int8, pl.Int8, pl.Int16, pl.Int32, pl.Int64];
const FLOATS = new Set(["Float32", "Float64"]);

/** The common type of two dtypes, or undefined when there is no safe widening. */
export function widen(a: pl.DataType, b: pl.DataType): pl.DataType | undefined {
  const na = dtypeName(a);
  const nb = dtypeName(b);
  if (String(a) === String(b)) return a;
  if (na === "Null") return b;
  if (nb === "Null") return a;
  const stringy = (n: string) => n === "String" || n === "Utf8" || n === "Categorical";
  if (stringy(na) && stringy(nb)) return pl.Utf8;
  const rank = (n: string) => INT_RANK[n] ?? (UINT_RANK[n] !== undefined ? UINT_RANK[n]! + 1 : undefined);
  const ra = rank(na);
  const rb = rank(nb);
  if (ra !== undefined && rb !== undefined) {
    if (UINT_RANK[na] !== undefined && UINT_RANK[nb] !== undefined)
      return UINT_RANK[na]! >= UINT_RANK[nb]! ? a : b;
    const needed = Math.max(ra, rb);
    return needed > 4 ? undefined : INT_BY_RANK[needed];
  }
  if ((FLOATS.has(na) || ra !== undefined) && (FLOATS.has(nb) || rb !== undefined)) return pl.Float64;
  return undefined;
}

/** The conflict on `column`: which files (of those read so far) have which type. */
function conflict(
  column: string,
  schemas: ReadonlyArray<Record<string, pl.DataType>>,
  frames: ReadonlyArray<{ source: string }>,
): SchemaConflictError {
  const byType = new Map<string, string[]>();
  schemas.forEach((schema, index) => {
    const dtype = schema[column];
    if (dtype === undefined) return;
    const type = String(dtype).replace(/^DataType\((.*)\)$/, "$1");
    byType.set(type, [...(byType.get(type) ?? []), frames[index]!.source]);
  });
  return new SchemaConflictError(
    column,
    [...byType.entries()].map(([type, sources]) => ({ type, sources })),
  );
}

/**
 * Concatenates frames (in the order given) into one, harmonising their schemas. A frame without rows
 * contributes no schema (a header-only CSV types every column as a string): when every frame is empty, the
 * result is an empty frame without columns.
 */
export function concatHarmonized(all: ReadonlyArray<{ frame: pl.DataFrame; source: string }>): pl.DataFrame {
  const frames = all.filter(({ frame }) => frame.height > 0);
  if (frames.length === 0) return pl.DataFrame();
  // Each frame's schema is read once: every property access on a DataFrame reads its column names.
  const schemas = frames.map(({ frame }) => frameSchema(frame));
  const target = new Map<string, pl.DataType>();
  schemas.forEach((schema, index) => {
    for (const [column, dtype] of Object.entries(schema)) {
      const current = target.get(column);
      const next = current === undefined ? dtype : widen(current, dtype);
      if (next === undefined) throw conflict(column, schemas.slice(0, index + 1), frames);
      target.set(column, next);
    }
  });
  const columns = [...target.keys()];
  const aligned = frames.map(({ frame }, index) => {
    const schema = schemas[index]!;
    const names = Object.keys(schema);
    const sameType = (column: string) => String(schema[column]) === String(target.get(column));
    // Already in the target shape (the usual case): no select, whose 100+ expressions cost ~1 ms each.
    if (names.length === columns.length && columns.every((c, i) => names[i] === c && sameType(c)))
      return frame;
    return frame.select(
      ...columns.map((column) => {
        const dtype = target.get(column)!;
        if (!Object.hasOwn(schema, column)) return pl.lit(null).cast(dtype).alias(column);
        return sameType(column) ? pl.col(column) : pl.col(column).cast(dtype);
      }),
    );
  });
  return aligned.length === 1 ? aligned[0]! : pl.concat(aligned, { how: "vertical" });
}
