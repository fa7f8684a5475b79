/**
 * Harmonises the schemas of frames read from different files before concatenation: missing columns become
 * nulls, types widen safely (Int8 < Int16 < Int32 < Int64, unsigned to a wider signed int, ints to Float64,
 * Float32 to Float64, Categorical to String, Null to anything, datetimes to the finer unit). Anything else
 * is an incompatible type: an error naming the column and the files. The same rules give the lake's one
 * schema from the staging files' footers (`lakeSchemaOf`), and every group is cast to it (`castToLakeSchema`).
 */
import pl from "nodejs-polars";
import { SnaplakeError } from "../errors.js";
import { dtypeOfTypeName, typeNameOf } from "./column-types.js";
import { dtypeName, frameSchema } from "./convert.js";

/** Files shown per type in a conflict; a lake may have thousands. */
const SOURCES_SHOWN = 3;

export class SchemaConflictError extends SnaplakeError {
  readonly column: string;
  constructor(column: string, types: Array<{ type: string; sources: string[] }>) {
    const detail = types
      .map((t) => {
        const more = t.sources.length > SOURCES_SHOWN ? ` and ${t.sources.length - SOURCES_SHOWN} more` : "";
        return `${t.type} in ${t.sources.slice(0, SOURCES_SHOWN).join(", ")}${more}`;
      })
      .join("; ");
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
const TIME_UNIT_RANK: Record<string, number> = { ms: 1, us: 2, ns: 3 };

interface DatetimeLike {
  timeUnit: string;
  timeZone?: string | null;
}

/** The finer unit of two datetimes; undefined when one has a time zone and the other has none. */
function widenDatetimes(a: pl.DataType, b: pl.DataType): pl.DataType | undefined {
  const da = a as unknown as DatetimeLike;
  const db = b as unknown as DatetimeLike;
  if (!da.timeZone !== !db.timeZone) return undefined;
  const unit = (TIME_UNIT_RANK[da.timeUnit]! >= TIME_UNIT_RANK[db.timeUnit]! ? da : db).timeUnit;
  return pl.Datetime(unit as "ms" | "us" | "ns", da.timeZone ?? undefined);
}

/** The common type of two dtypes, or undefined when there is no safe widening. */
export function widen(a: pl.DataType, b: pl.DataType): pl.DataType | undefined {
  const na = dtypeName(a);
  const nb = dtypeName(b);
  if (String(a) === String(b)) return a;
  if (na === "Null") return b;
  if (nb === "Null") return a;
  const stringy = (n: string) => n === "String" || n === "Utf8" || n === "Categorical";
  if (stringy(na) && stringy(nb)) return pl.Utf8;
  if (na === "Datetime" && nb === "Datetime") return widenDatetimes(a, b);
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

/** A lake's columns in order, each with its type name (see column-types.ts). */
export type LakeColumns = ReadonlyArray<{ name: string; type: string }>;

/** The common type name of two type names, or undefined when there is no safe widening. */
export function widenTypeNames(a: string, b: string): string | undefined {
  if (a === b) return a;
  const da = dtypeOfTypeName(a);
  const db = dtypeOfTypeName(b);
  const wider = da && db ? widen(da, db) : undefined;
  return wider ? typeNameOf(wider) : undefined;
}

/**
 * One schema for files with these columns (from their footers): every column of any file, in order of
 * first appearance, each widened to a type every file's values fit. `SchemaConflictError` names the
 * column, its types and the files that have each.
 */
export function lakeSchemaOf(
  files: ReadonlyArray<{ source: string; columns: ReadonlyArray<readonly [name: string, type: string]> }>,
): Array<{ name: string; type: string }> {
  const types = new Map<string, string>();
  for (const file of files) {
    for (const [name, type] of file.columns) {
      const current = types.get(name);
      const next = current === undefined ? type : widenTypeNames(current, type);
      if (next === undefined) {
        const byType = new Map<string, string[]>();
        for (const other of files) {
          const otherType = other.columns.find(([n]) => n === name)?.[1];
          if (otherType !== undefined)
            byType.set(otherType, [...(byType.get(otherType) ?? []), other.source]);
        }
        throw new SchemaConflictError(
          name,
          [...byType.entries()].map(([t, sources]) => ({ type: t, sources })),
        );
      }
      types.set(name, next);
    }
  }
  return [...types.entries()].map(([name, type]) => ({ name, type }));
}

export class LakeSchemaMismatchError extends SnaplakeError {
  constructor(source: string, problem: string) {
    super(
      "LAKE_SCHEMA_MISMATCH",
      `${source} does not fit the lake schema planned by step 2.1: ${problem}. The staging files changed after planning: run step 1.3 and 2.1 again under a new projectId.`,
    );
  }
}

/**
 * The frame with exactly the lake's columns, in its order and of its types: columns it lacks become nulls
 * of the lake type, narrower ones are widened. A column the lake doesn't know, or a type the lake type
 * can't hold, is a `LakeSchemaMismatchError` (the plan was made from other files).
 */
export function castToLakeSchema(frame: pl.DataFrame, lake: LakeColumns, source: string): pl.DataFrame {
  const schema = frameSchema(frame);
  const known = new Set(lake.map((c) => c.name));
  const unknown = Object.keys(schema).filter((c) => !known.has(c));
  if (unknown.length > 0)
    throw new LakeSchemaMismatchError(source, `columns ${unknown.join(", ")} are not in it`);
  const names = Object.keys(schema);
  const fits = lake.every((c, i) => names[i] === c.name && typeNameOf(schema[c.name]!) === c.type);
  if (fits && names.length === lake.length) return frame;
  return frame.select(
    ...lake.map(({ name, type }) => {
      const current = schema[name];
      if (current === undefined) {
        // polars can't cast to Null: an untyped null literal is one.
        if (type === "Null") return pl.lit(null).alias(name);
        const dtype = dtypeOfTypeName(type);
        if (!dtype)
          throw new LakeSchemaMismatchError(source, `column ${name} is missing and has type ${type}`);
        return pl.lit(null).cast(dtype).alias(name);
      }
      const currentType = typeNameOf(current);
      if (currentType === type) return pl.col(name);
      const dtype = widenTypeNames(currentType, type) === type ? dtypeOfTypeName(type, current) : undefined;
      if (!dtype)
        throw new LakeSchemaMismatchError(source, `column ${name} is ${currentType}, the lake's is ${type}`);
      return pl.col(name).cast(dtype);
    }),
  );
}
