/**
 * Reader for DynamoDB "Export to S3" data files in DYNAMODB_JSON: gzip'd JSON lines, one
 * `{"Item": {"attr": {"S": "..."}, ...}}` per line
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html), into typed
 * columns:
 *
 * | DynamoDB | column |
 * |---|---|
 * | S | String |
 * | N | Int64 when every value of the column is an integer within Int64, else Float64 when every value is exact as a double, else the exact text (String) and a warning naming the column |
 * | BOOL | Boolean |
 * | NULL | null |
 * | B | base64 text (default: nodejs-polars cannot describe Binary columns yet), or Binary with `binary: "bytes"` |
 * | SS, NS, BS | lists |
 * | M, L | struct / list (`nested: "struct"`), or JSON text (`nested: "json"`) |
 *
 * An incremental export's lines (`Keys`, `NewImage` and/or `OldImage`, `Metadata.WriteTimestampMicros`)
 * become rows of the NewImage's attributes (only the Keys' for a deletion) plus `_snaplake_write_micros`
 * (Int64) and `_snaplake_deleted` (Boolean), which a Delta merge (table.mode "merge") applies.
 *
 * An attribute only some items have is a nullable column. An attribute whose type differs between items is
 * an error naming it, both types, files and lines, or JSON text with `mixedTypes: "json"`. `columns`
 * declares types and renames. Container values are unmarshalled by `@aws-sdk/util-dynamodb`.
 *
 * Speed: values are gathered per column in JS, then each column is one Series (one N-API call); lists and
 * structs are one JSON text per row decoded by polars against a schema inferred here.
 */
import { constants, gunzipSync } from "node:zlib";
import { convertToNative, type NumberValue, NumberValueImpl } from "@aws-sdk/util-dynamodb";
import * as arrow from "apache-arrow";
import pl from "nodejs-polars";
import { z } from "zod";
import { isGzip } from "../compression.js";
import { SnaplakeError } from "../errors.js";
import type { SnapshotFileGroup } from "../models/manifests.js";
import { CHANGE_DELETED_COLUMN, CHANGE_WRITE_TIME_COLUMN } from "../table/delta/merge.js";
import { ionExportRecord, isIonDataFile } from "./dynamodb-ion.js";
import { readerFormat } from "./format.js";
import type { BatchReadSnapshotDataFile, ReadContext, SnapshotReadResult } from "./types.js";

export const dynamoDbDeclaredTypes = ["string", "int64", "float64", "boolean", "json"] as const;
export type DynamoDbDeclaredType = (typeof dynamoDbDeclaredTypes)[number];

/** The reader's options as they appear under `reader` in a config file. */
export const dynamoDbExportReaderOptionsSchema = z
  .object({
    nested: z
      .enum(["struct", "json"])
      .default("struct")
      .describe("Maps (M) and lists (L) as struct and list columns, or kept as JSON text."),
    mixedTypes: z
      .enum(["error", "json"])
      .default("error")
      .describe(
        "An attribute holding values of two types fails its group, naming it, or is kept as JSON text.",
      ),
    binary: z
      .enum(["base64", "bytes"])
      .default("base64")
      .describe("Binary values (B, BS) as base64 text, or as Binary columns."),
    columns: z
      .record(
        z.string().min(1),
        z
          .object({
            name: z.string().min(1).optional().describe("The column's name in the lake (a rename)."),
            type: z
              .enum(dynamoDbDeclaredTypes)
              .optional()
              .describe("The column's type, instead of the one inferred from the values."),
          })
          .strict(),
      )
      .default({})
      .describe("Declared types and renames, by attribute name (a dotted path for a nested attribute)."),
  })
  .strict();

export interface DynamoDbExportWarning {
  code: "DYNAMODB_NUMBER_KEPT_AS_TEXT";
  message: string;
  /** The attributes (dotted paths for nested ones) concerned. */
  columns: string[];
}

export type DynamoDbExportReaderOptions = z.input<typeof dynamoDbExportReaderOptionsSchema> & {
  /** Where warnings go; defaults to `process.emitWarning`. */
  onWarning?: (warning: DynamoDbExportWarning) => void;
};

/** A line of an export file that can't be read: bad JSON, not an export item, an unknown type descriptor. */
export class DynamoDbExportLineError extends SnaplakeError {
  readonly uri: string;
  readonly line: number;
  constructor(uri: string, line: number, problem: string, options?: { cause?: unknown }) {
    super("DYNAMODB_EXPORT_BAD_LINE", `${uri} line ${line}: ${problem}`, options);
    this.uri = uri;
    this.line = line;
  }
}

export class DynamoDbMixedTypesError extends SnaplakeError {
  readonly attribute: string;
  constructor(attribute: string, first: { type: string; at: string }, second: { type: string; at: string }) {
    super(
      "DYNAMODB_EXPORT_MIXED_TYPES",
      `Attribute "${attribute}" is ${first.type} in ${first.at} but ${second.type} in ${second.at}; set reader.mixedTypes to "json" to keep it as JSON text, or declare reader.columns["${attribute.split(/[.[]/)[0]}"].type`,
    );
    this.attribute = attribute;
  }
}

export class DynamoDbColumnTypeError extends SnaplakeError {
  readonly attribute: string;
  constructor(attribute: string, problem: string) {
    super("DYNAMODB_EXPORT_COLUMN_TYPE", `Attribute "${attribute}": ${problem}`);
    this.attribute = attribute;
  }
}

type Kind = "S" | "N" | "BOOL" | "NULL" | "B" | "SS" | "NS" | "BS" | "M" | "L";
const KINDS = new Set<string>(["S", "N", "BOOL", "NULL", "B", "SS", "NS", "BS", "M", "L"]);
type AttributeValue = Record<string, unknown>;

/** What one attribute (or nested path) holds across every row read: its kind, and for numbers how they fit. */
interface TypeNode {
  /** null while only NULLs were seen. */
  kind: Kind | null;
  row: number;
  /** N and NS: every value an integer within Int64; every value exact as a double. */
  int64: boolean;
  float64: boolean;
  fields?: Map<string, TypeNode>;
  element?: TypeNode;
}

const newNode = (): TypeNode => ({ kind: null, row: -1, int64: true, float64: true });

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function fitsInt64(text: string): boolean {
  if (!INTEGER.test(text)) return false;
  const digits = text.replace(/^[+-]?0*/, "");
  if (digits.length < 19) return true;
  const value = BigInt(text);
  return value <= INT64_MAX && value >= INT64_MIN;
}

/** A decimal's value as (sign, significant digits, exponent), so "1.50", "15e-1" and "1.5" compare equal. */
function decimalKey(text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
  const fraction = match[3] ?? "";
  let digits = (match[2]! + fraction).replace(/^0+/, "");
  if (digits === "") return "0";
  let exponent = Number(match[4] ?? 0) - fraction.length;
  const trimmed = digits.replace(/0+$/, "");
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  return `${match[1] === "-" ? "-" : ""}${digits}e${exponent}`;
}

/** True when the double nearest to `text` is exactly the decimal `text` says (so nothing is lost). */
function exactAsDouble(text: string): boolean {
  const value = Number(text);
  if (!Number.isFinite(value)) return false;
  const shortest = String(value);
  return shortest === text || decimalKey(shortest) === decimalKey(text);
}

/** Thrown inside type inference; turned into DynamoDbMixedTypesError (with files and lines) or JSON text. */
class TypeConflict {
  constructor(
    readonly path: string,
    readonly first: { kind: string; row: number },
    readonly second: { kind: string; row: number },
  ) {}
}

/** Rows of one read: which file and line each row came from, for errors; for changes, when and whether deleted. */
class RowOrigins {
  readonly uris: string[] = [];
  readonly fileOfRow: number[] = [];
  readonly lineOfRow: number[] = [];
  /** Full export items, or an incremental export's changes: one read holds one kind. */
  kind: "items" | "changes" | undefined;
  /** Changes only, per row: Metadata.WriteTimestampMicros, and true when the change has no NewImage. */
  readonly writeMicros: number[] = [];
  readonly deleted: boolean[] = [];
  at(row: number): string {
    return `${this.uris[this.fileOfRow[row]!]} line ${this.lineOfRow[row]}`;
  }
  error(row: number, problem: string): DynamoDbExportLineError {
    return new DynamoDbExportLineError(this.uris[this.fileOfRow[row]!]!, this.lineOfRow[row]!, problem);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The one type descriptor of an attribute value, checked against the value's shape. */
function descriptorOf(value: unknown, path: string, row: number, origins: RowOrigins): Kind {
  if (!isObject(value)) {
    throw origins.error(row, `"${path}" is not a DynamoDB attribute value (expected e.g. {"S": "text"})`);
  }
  let kind: string | undefined;
  for (const key in value) {
    if (kind !== undefined) {
      throw origins.error(
        row,
        `"${path}" has more than one type descriptor (${Object.keys(value).join(", ")})`,
      );
    }
    kind = key;
  }
  if (kind === undefined) throw origins.error(row, `"${path}" has no type descriptor`);
  if (!KINDS.has(kind)) throw origins.error(row, `"${path}" has an unknown type descriptor "${kind}"`);
  const inner = value[kind];
  const bad = (expected: string) => origins.error(row, `"${path}": ${kind} holds ${expected}`);
  switch (kind) {
    case "S":
    case "B":
      if (typeof inner !== "string") throw bad("a string");
      break;
    case "N":
      if (typeof inner !== "string" || !NUMBER.test(inner)) throw bad("a number as text");
      break;
    case "BOOL":
      if (typeof inner !== "boolean") throw bad("true or false");
      break;
    case "NULL":
      if (inner !== true) throw bad("true");
      break;
    case "SS":
    case "BS":
      if (!Array.isArray(inner) || !inner.every((v) => typeof v === "string")) throw bad("a list of strings");
      break;
    case "NS":
      if (!Array.isArray(inner) || !inner.every((v) => typeof v === "string" && NUMBER.test(v))) {
        throw bad("a list of numbers as text");
      }
      break;
    case "M":
      if (!isObject(inner)) throw bad("an object");
      break;
    case "L":
      if (!Array.isArray(inner)) throw bad("a list");
      break;
  }
  return kind as Kind;
}

function observeNumber(node: TypeNode, text: string): void {
  if (node.int64 && !fitsInt64(text)) node.int64 = false;
  if (node.float64 && !exactAsDouble(text)) node.float64 = false;
}

/** Folds one value into the column's type, checking every descriptor on the way down. */
function observe(node: TypeNode, value: unknown, path: string, row: number, origins: RowOrigins): void {
  const kind = descriptorOf(value, path, row, origins);
  observeInner(node, kind, (value as AttributeValue)[kind], path, row, origins);
}

/** `observe` of a value whose descriptor was checked already: its kind and what the descriptor holds. */
function observeInner(
  node: TypeNode,
  kind: Kind,
  inner: unknown,
  path: string,
  row: number,
  origins: RowOrigins,
): void {
  if (kind === "NULL") return;
  if (node.kind === null) {
    node.kind = kind;
    node.row = row;
  } else if (node.kind !== kind) {
    throw new TypeConflict(path, { kind: node.kind, row: node.row }, { kind, row });
  }
  switch (kind) {
    case "N":
      observeNumber(node, inner as string);
      break;
    case "NS":
      for (const text of inner as string[]) observeNumber(node, text);
      break;
    case "M": {
      node.fields ??= new Map();
      for (const [name, child] of Object.entries(inner as AttributeValue)) {
        let field = node.fields.get(name);
        if (!field) {
          field = newNode();
          node.fields.set(name, field);
        }
        observe(field, child, `${path}.${name}`, row, origins);
      }
      break;
    }
    case "L": {
      node.element ??= newNode();
      for (const child of inner as unknown[]) observe(node.element, child, `${path}[]`, row, origins);
      break;
    }
  }
}

/** Checks every descriptor of a value without typing it (a column kept as JSON text). */
function validate(value: unknown, path: string, row: number, origins: RowOrigins): void {
  const kind = descriptorOf(value, path, row, origins);
  validateInner(kind, (value as AttributeValue)[kind], path, row, origins);
}

function validateInner(kind: Kind, inner: unknown, path: string, row: number, origins: RowOrigins): void {
  if (kind === "M") {
    for (const [name, child] of Object.entries(inner as AttributeValue)) {
      validate(child, `${path}.${name}`, row, origins);
    }
  } else if (kind === "L") {
    for (const child of inner as unknown[]) validate(child, `${path}[]`, row, origins);
  }
}

type NumberType = "int64" | "float64" | "text";
const numberType = (node: TypeNode): NumberType => (node.int64 ? "int64" : node.float64 ? "float64" : "text");

/** Paths whose numbers are kept as text, for the warning. */
function textNumberPaths(node: TypeNode, path: string, out: string[]): void {
  if ((node.kind === "N" || node.kind === "NS") && numberType(node) === "text") out.push(path);
  for (const [name, field] of node.fields ?? []) textNumberPaths(field, `${path}.${name}`, out);
  if (node.element) textNumberPaths(node.element, `${path}[]`, out);
}

const NUMBER_DTYPES: Record<NumberType, pl.DataType> = {
  int64: pl.Int64,
  float64: pl.Float64,
  text: pl.Utf8,
};

/** A map that only ever was empty has no fields to make a struct of: it is kept as JSON text. */
const isFieldlessMap = (node: TypeNode) => node.kind === "M" && (node.fields?.size ?? 0) === 0;

function nestedDtype(node: TypeNode): pl.DataType {
  switch (node.kind) {
    case "N":
      return NUMBER_DTYPES[numberType(node)];
    case "BOOL":
      return pl.Bool;
    case "SS":
    case "BS":
      return pl.List(pl.Utf8);
    case "NS":
      return pl.List(NUMBER_DTYPES[numberType(node)]);
    case "M":
      if (isFieldlessMap(node)) return pl.Utf8;
      return pl.Struct(
        [...node.fields!.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([name, field]) => new pl.Field(name, nestedDtype(field))),
      );
    case "L":
      return pl.List(nestedDtype(node.element!));
    default: // S, B (base64 text), and only-NULL
      return pl.Utf8;
  }
}

/** `@aws-sdk/util-dynamodb`'s native value, numbers wrapped so their text stays exact. */
function toNative(value: unknown): unknown {
  return convertToNative(value as Parameters<typeof convertToNative>[0], { wrapNumbers: true });
}

/** JSON text of a native value: sets become arrays; a number is a JSON number when exact as a double, else its text. */
function nativeJson(native: unknown): string {
  return JSON.stringify(native, (_key, value) => {
    if (value instanceof Set) return [...value];
    if (value instanceof NumberValueImpl) {
      const text = value.toString();
      return exactAsDouble(text) ? Number(text) : text;
    }
    return value;
  });
}

/** Canonical JSON text of an integer polars parses into Int64 ("+007" → "7"). */
function integerLiteral(text: string): string {
  return /^-?(?:0|[1-9]\d*)$/.test(text) ? text : BigInt(text).toString();
}

function numberJson(text: string, type: NumberType): string {
  if (type === "int64") return integerLiteral(text);
  if (type === "float64") return String(Number(text));
  return JSON.stringify(text);
}

/** JSON text of a native value shaped by the inferred type, for polars to decode into that type. */
function typedJson(node: TypeNode, native: unknown): string {
  if (native === null || native === undefined) return "null";
  switch (node.kind) {
    case "N":
      return numberJson((native as NumberValue).toString(), numberType(node));
    case "NS":
      return `[${[...(native as Set<NumberValue>)].map((n) => numberJson(n.toString(), numberType(node))).join(",")}]`;
    case "SS":
    case "BS":
      return JSON.stringify([...(native as Set<string>)]);
    case "M": {
      if (isFieldlessMap(node)) return JSON.stringify(nativeJson(native));
      const parts: string[] = [];
      for (const [name, child] of Object.entries(native as Record<string, unknown>)) {
        parts.push(`${JSON.stringify(name)}:${typedJson(node.fields!.get(name)!, child)}`);
      }
      return `{${parts.join(",")}}`;
    }
    case "L":
      return `[${(native as unknown[]).map((child) => typedJson(node.element!, child)).join(",")}]`;
    default:
      return JSON.stringify(native);
  }
}

/**
 * One attribute's values over the rows read, in row order: the row, the descriptor and what it holds (not the
 * `{"S": ...}` wrapper: a group's worth of those kept alive until the columns are built costs the GC dearly).
 */
interface Gathered {
  name: string;
  rows: number[];
  kinds: Kind[];
  values: unknown[];
}

/** The attribute value at `index`, rebuilt for `@aws-sdk/util-dynamodb`. */
const attributeValue = (column: Gathered, index: number): AttributeValue => ({
  [column.kinds[index]!]: column.values[index],
});

/** A full-height column: `map` of each value, null where the attribute is absent or NULL. */
function spread<T>(
  column: Gathered,
  height: number,
  map: (inner: unknown, index: number) => T,
): Array<T | null> {
  const out = new Array<T | null>(height).fill(null);
  for (let i = 0; i < column.rows.length; i++) {
    if (column.kinds[i] !== "NULL") out[column.rows[i]!] = map(column.values[i], i);
  }
  return out;
}

interface ColumnContext {
  height: number;
  origins: RowOrigins;
  options: z.output<typeof dynamoDbExportReaderOptionsSchema>;
  textNumbers: string[];
}

function jsonColumn(name: string, column: Gathered, context: ColumnContext): pl.Series {
  for (let i = 0; i < column.rows.length; i++) {
    validateInner(column.kinds[i]!, column.values[i], column.name, column.rows[i]!, context.origins);
  }
  const texts = spread(column, context.height, (_, i) => nativeJson(toNative(attributeValue(column, i))));
  return pl.Series(name, texts, pl.Utf8);
}

function numberColumn(name: string, column: Gathered, type: NumberType, height: number): pl.Series {
  const texts = spread(column, height, (inner) => inner as string);
  if (type === "text") return pl.Series(name, texts, pl.Utf8);
  const numbers = () => texts.map((t) => (t === null ? null : Number(t)));
  if (type === "float64") return pl.Series(name, numbers(), pl.Float64);
  if (texts.every((t) => t === null || Number.isSafeInteger(Number(t)))) {
    return pl.Series(name, numbers(), pl.Int64);
  }
  // Beyond 2^53 a JS number is inexact: polars parses the text instead.
  const literals = texts.map((t) => (t === null ? null : integerLiteral(t)));
  return pl.Series(name, literals, pl.Utf8).cast(pl.Int64, true);
}

function bytesColumn(name: string, column: Gathered, kind: "B" | "BS", height: number): pl.Series {
  const decode = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
  const values = spread(column, height, (inner) =>
    kind === "B" ? decode(inner as string) : (inner as string[]).map(decode),
  );
  const type =
    kind === "B" ? new arrow.Binary() : new arrow.List(new arrow.Field("item", new arrow.Binary(), true));
  // nodejs-polars builds no Binary series from JS values; Arrow does, and hands it over by IPC.
  const table = new arrow.Table({ [name]: arrow.vectorFromArray(values, type as arrow.DataType) });
  return pl.readIPCStream(Buffer.from(arrow.tableToIPC(table, "stream"))).getColumn(name);
}

function typedColumn(name: string, column: Gathered, node: TypeNode, context: ColumnContext): pl.Series {
  const { height, options } = context;
  const asIs = (dtype: pl.DataType) =>
    pl.Series(
      name,
      spread(column, height, (inner) => inner),
      dtype,
    );
  switch (node.kind) {
    case null:
      return pl.Series(name, new Array(height).fill(null), pl.Utf8);
    case "S":
      return asIs(pl.Utf8);
    case "BOOL":
      return asIs(pl.Bool);
    case "N":
      return numberColumn(name, column, numberType(node), height);
    case "B":
      return options.binary === "bytes" ? bytesColumn(name, column, "B", height) : asIs(pl.Utf8);
    case "BS":
      return options.binary === "bytes" ? bytesColumn(name, column, "BS", height) : asIs(pl.List(pl.Utf8));
    case "SS":
      return asIs(pl.List(pl.Utf8));
    default: {
      // NS, M, L: JSON text shaped by the inferred type, decoded by polars.
      const texts = spread(column, height, (_, i) => typedJson(node, toNative(attributeValue(column, i))));
      const json = pl.Series(name, texts, pl.Utf8);
      return pl
        .DataFrame([json])
        .select(pl.col(name).str.jsonDecode(nestedDtype(node)))
        .getColumn(name);
    }
  }
}

/** An attribute with a declared type: N as text, Int64 or Float64 by the user's word; JSON text; or a cast. */
function declaredColumn(
  name: string,
  column: Gathered,
  node: TypeNode,
  type: DynamoDbDeclaredType,
  context: ColumnContext,
): pl.Series {
  if (type === "json") return jsonColumn(name, column, context);
  const { origins, height } = context;
  const refuse = (row: number) =>
    new DynamoDbColumnTypeError(column.name, `declared ${type}, but ${origins.at(row)} holds ${node.kind}`);
  if (node.kind === "N") {
    if (type === "boolean") throw refuse(node.row);
    if (type === "int64" && !node.int64) {
      const row = column.rows.find((_, i) => {
        return column.kinds[i] === "N" && !fitsInt64(column.values[i] as string);
      })!;
      throw new DynamoDbColumnTypeError(
        column.name,
        `declared int64, but ${origins.at(row)} holds a number that is not an integer within Int64`,
      );
    }
    return numberColumn(name, column, type === "string" ? "text" : type, height);
  }
  const expected: Record<string, Kind[]> = { string: ["S", "B"], boolean: ["BOOL"], int64: [], float64: [] };
  if (node.kind !== null && !expected[type]!.includes(node.kind)) throw refuse(node.row);
  const series = typedColumn(name, column, node, context);
  const dtypes: Record<string, pl.DataType> = {
    string: pl.Utf8,
    boolean: pl.Bool,
    int64: pl.Int64,
    float64: pl.Float64,
  };
  return series.cast(dtypes[type]!, true);
}

function buildColumn(name: string, column: Gathered, context: ColumnContext): pl.Series {
  const { options, origins } = context;
  const declared = options.columns[column.name]?.type;
  const node = newNode();
  try {
    for (let i = 0; i < column.values.length; i++) {
      observeInner(node, column.kinds[i]!, column.values[i], column.name, column.rows[i]!, origins);
    }
  } catch (error) {
    if (!(error instanceof TypeConflict)) throw error;
    if (declared === "json" || options.mixedTypes === "json") return jsonColumn(name, column, context);
    throw new DynamoDbMixedTypesError(
      error.path,
      { type: error.first.kind, at: origins.at(error.first.row) },
      { type: error.second.kind, at: origins.at(error.second.row) },
    );
  }
  if (declared) return declaredColumn(name, column, node, declared, context);
  if ((node.kind === "M" || node.kind === "L") && options.nested === "json") {
    return jsonColumn(name, column, context);
  }
  textNumberPaths(node, column.name, context.textNumbers);
  return typedColumn(name, column, node, context);
}

const EMPTY_DTYPES: Record<DynamoDbDeclaredType, pl.DataType> = {
  string: pl.Utf8,
  json: pl.Utf8,
  int64: pl.Int64,
  float64: pl.Float64,
  boolean: pl.Bool,
};

/**
 * The attributes of an incremental export's change: its NewImage (with the Keys it lacks), or only its Keys
 * when the change deleted the item.
 */
function changeImage(record: Record<string, unknown>, uri: string, line: number): Record<string, unknown> {
  const { Keys: keys, NewImage: newImage } = record;
  if (!isObject(keys) || Object.keys(keys).length === 0) {
    throw new DynamoDbExportLineError(uri, line, "Keys is not an attribute map naming the item's key");
  }
  if (newImage === undefined) return keys;
  if (!isObject(newImage)) throw new DynamoDbExportLineError(uri, line, "NewImage is not an attribute map");
  const missing = Object.keys(keys).filter((name) => !(name in newImage));
  return missing.length === 0
    ? newImage
    : { ...newImage, ...Object.fromEntries(missing.map((k) => [k, keys[k]])) };
}

function writeTimestampMicros(record: Record<string, unknown>, uri: string, line: number): number {
  const metadata = record.Metadata;
  const written = isObject(metadata) ? metadata.WriteTimestampMicros : undefined;
  const text = isObject(written) ? written.N : undefined;
  const micros = typeof text === "string" && /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(micros)) {
    throw new DynamoDbExportLineError(
      uri,
      line,
      'Metadata.WriteTimestampMicros is not {"N": "<microseconds since the epoch>"}',
    );
  }
  return micros;
}

/** Splits a decompressed export file into items, gathering each attribute's values by column. */
function gatherItems(uri: string, bytes: Buffer, columns: Map<string, Gathered>, origins: RowOrigins): void {
  const fileIndex = origins.uris.push(uri) - 1;
  const ion = isIonDataFile(uri);
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(10, start);
    if (end === -1) end = bytes.length;
    line++;
    const text = bytes.toString("utf8", start, end);
    start = end + 1;
    if (text.trim() === "") throw new DynamoDbExportLineError(uri, line, "empty line");
    let record: unknown;
    try {
      record = ion ? ionExportRecord(text) : JSON.parse(text);
    } catch (error) {
      const reason = ion ? (error as Error).message : `not JSON (${(error as Error).message})`;
      throw new DynamoDbExportLineError(uri, line, reason, { cause: error });
    }
    const fullItem = isObject(record) ? record.Item : undefined;
    const kind = isObject(fullItem) ? "items" : isObject(record) && "Keys" in record ? "changes" : undefined;
    if (kind === undefined) {
      throw new DynamoDbExportLineError(
        uri,
        line,
        'not a DynamoDB export item: expected {"Item": {"attribute": {"S": "..."}, ...}} (full export), or an incremental export change {"Keys": {...}, "NewImage": {...}, "Metadata": {...}}',
      );
    }
    origins.kind ??= kind;
    if (kind !== origins.kind) {
      throw new DynamoDbExportLineError(
        uri,
        line,
        kind === "changes"
          ? "an incremental export line (Keys/NewImage/OldImage) among full export items: read one export at a time"
          : "a full export item among an incremental export's changes: read one export at a time",
      );
    }
    const item =
      kind === "items"
        ? (fullItem as Record<string, unknown>)
        : changeImage(record as Record<string, unknown>, uri, line);
    if (kind === "changes") {
      const change = record as Record<string, unknown>;
      origins.writeMicros.push(writeTimestampMicros(change, uri, line));
      origins.deleted.push(change.NewImage === undefined);
    }
    const row = origins.fileOfRow.push(fileIndex) - 1;
    origins.lineOfRow.push(line);
    for (const name in item) {
      let column = columns.get(name);
      if (!column) {
        column = { name, rows: [], kinds: [], values: [] };
        columns.set(name, column);
      }
      column.rows.push(row);
      const value = item[name];
      const kind = descriptorOf(value, name, row, origins);
      column.kinds.push(kind);
      column.values.push((value as AttributeValue)[kind]);
    }
  }
}

/**
 * Turns decompressed DYNAMODB_JSON (or ION, `*.ion.gz`) export files into one typed frame (rows in file order, then line order).
 * Columns: declared ones first, in the order declared, then the others by name.
 */
export function readDynamoDbExportItems(
  files: ReadonlyArray<{ uri: string; bytes: Buffer }>,
  options: DynamoDbExportReaderOptions = {},
): pl.DataFrame {
  return readDynamoDbExportFiles(files, options).frame;
}

/** As `readDynamoDbExportItems`, with the number of items (rows) each file held, by URI. */
export function readDynamoDbExportFiles(
  files: ReadonlyArray<{ uri: string; bytes: Buffer }>,
  options: DynamoDbExportReaderOptions = {},
): { frame: pl.DataFrame; rowsPerFile: Record<string, number> } {
  const { onWarning, ...rest } = options;
  const parsed = dynamoDbExportReaderOptionsSchema.parse(rest);
  const columns = new Map<string, Gathered>();
  const origins = new RowOrigins();
  for (const file of files) gatherItems(file.uri, file.bytes, columns, origins);
  const context: ColumnContext = {
    height: origins.fileOfRow.length,
    origins,
    options: parsed,
    textNumbers: [],
  };

  const declared = Object.keys(parsed.columns);
  const names = [...declared, ...[...columns.keys()].filter((n) => !(n in parsed.columns)).sort()];
  const outputNames = new Map<string, string>();
  const series: pl.Series[] = [];
  for (const attribute of names) {
    const spec = parsed.columns[attribute];
    const name = spec?.name ?? attribute;
    const clash = outputNames.get(name);
    if (clash !== undefined) {
      throw new DynamoDbColumnTypeError(
        attribute,
        `its column name "${name}" is also the column of "${clash}"`,
      );
    }
    const column = columns.get(attribute);
    if (column) {
      outputNames.set(name, attribute);
      series.push(buildColumn(name, column, context));
    } else if (spec?.type) {
      // Declared but absent from these files: a null column, so every group has the declared schema.
      outputNames.set(name, attribute);
      series.push(pl.Series(name, new Array(context.height).fill(null), EMPTY_DTYPES[spec.type]));
    }
  }
  if (origins.kind === "changes") {
    for (const name of [CHANGE_WRITE_TIME_COLUMN, CHANGE_DELETED_COLUMN]) {
      if (outputNames.has(name)) {
        throw new DynamoDbColumnTypeError(
          outputNames.get(name)!,
          `its column name "${name}" is the one a merge reads the changes' ${name === CHANGE_DELETED_COLUMN ? "deleted flag" : "write time"} from; rename it in reader.columns`,
        );
      }
    }
    series.push(pl.Series(CHANGE_WRITE_TIME_COLUMN, origins.writeMicros, pl.Int64));
    series.push(pl.Series(CHANGE_DELETED_COLUMN, origins.deleted, pl.Bool));
  }
  if (context.textNumbers.length > 0) {
    const warning: DynamoDbExportWarning = {
      code: "DYNAMODB_NUMBER_KEPT_AS_TEXT",
      columns: context.textNumbers,
      message: `Numbers kept as exact text (they fit neither Int64 nor Float64 exactly) in: ${context.textNumbers.join(", ")}; declare reader.columns.<attribute>.type "float64" to accept rounding`,
    };
    if (onWarning) onWarning(warning);
    else process.emitWarning(warning.message, { code: warning.code });
  }
  const rowsPerFile: Record<string, number> = Object.fromEntries(origins.uris.map((uri) => [uri, 0]));
  for (const file of origins.fileOfRow) rowsPerFile[origins.uris[file]!]! += 1;
  return { frame: series.length === 0 ? pl.DataFrame({}) : pl.DataFrame(series), rowsPerFile };
}

/** Inflates what it can: a prefix cut short is not an error (sync flush), damaged data is. */
function inflatesCleanly(raw: Buffer): Buffer | null {
  try {
    return gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return null;
  }
}

/**
 * How many whole lines inflate before a gzip file breaks (the damage starts on the next one), or null when
 * it inflates to the end. The longest prefix of the file that inflates is found by bisection: a stream
 * would lose the output of the chunk the damage is in (a small file is one chunk). Only run on failure.
 */
function linesBeforeCorruption(raw: Buffer): number | null {
  try {
    gunzipSync(raw);
    return null;
  } catch {
    // damaged: find where
  }
  let good = 0; // the longest prefix known to inflate
  let bad = raw.length; // the shortest known not to
  while (bad - good > 1) {
    const middle = Math.floor((good + bad) / 2);
    if (inflatesCleanly(raw.subarray(0, middle)) === null) bad = middle;
    else good = middle;
  }
  const text = inflatesCleanly(raw.subarray(0, good)) ?? Buffer.alloc(0);
  let lines = 0;
  for (let at = text.indexOf(10); at !== -1; at = text.indexOf(10, at + 1)) lines++;
  return lines;
}

async function readExportFile(uri: string, context: ReadContext): Promise<Buffer> {
  try {
    return await context.readFile(uri);
  } catch (error) {
    // Only a gzip file that fails to inflate is diagnosed; any other failure is the storage's, as it was.
    const raw = await context.storage.get(uri).catch(() => null);
    const intact = raw === null || !isGzip(raw) ? null : linesBeforeCorruption(raw);
    if (intact === null) throw error;
    const cause =
      (error as Error).cause instanceof Error ? ((error as Error).cause as Error) : (error as Error);
    throw new DynamoDbExportLineError(
      uri,
      intact + 1,
      `corrupt gzip data from this line on (${cause.message})`,
      {
        cause: error,
      },
    );
  }
}

/**
 * The `dynamodb-export` reader: a `BatchReadSnapshotDataFile` reading each file of the group (gzip inflated)
 * into one typed frame, with the items each file held (`rowsPerFile`, which step 3 reconciles with the
 * export manifest's itemCount). Any bad input fails the group, naming the file and line.
 */
export function dynamoDbExportReader(
  options: DynamoDbExportReaderOptions = {},
): (...args: Parameters<BatchReadSnapshotDataFile>) => Promise<SnapshotReadResult> {
  const { onWarning: _, ...configured } = options;
  dynamoDbExportReaderOptionsSchema.parse(configured); // a bad option fails now, not at the first group
  return async (group: SnapshotFileGroup, context: ReadContext) => {
    const files: Array<{ uri: string; bytes: Buffer }> = [];
    for (const file of group.files) {
      context.signal.throwIfAborted();
      files.push({ uri: file.uri, bytes: await readExportFile(file.uri, context) });
    }
    const { frame, rowsPerFile } = readDynamoDbExportFiles(files, options);
    return { data: frame, rowsPerFile };
  };
}

/** `reader.format: "dynamodb-export"` in a config file. */
export const dynamoDbExportFormat = readerFormat({
  description: "A DynamoDB export's items, DYNAMODB_JSON or ION (snapshot.dynamodbExport).",
  // Binary columns stop at the reader: nodejs-polars 0.26.1 cannot report a Binary column's type, which
  // steps 1.3 to 3 need, so a project run keeps B values as base64 text.
  options: dynamoDbExportReaderOptionsSchema.extend({
    binary: z
      .literal("base64", {
        error:
          'binary "bytes" is for readDynamoDbExportItems in your own code: nodejs-polars 0.26.1 cannot report a Binary column\'s type, which steps 1.3 to 3 need. Keep "base64" (the default): B values become base64 text',
      })
      .default("base64")
      .describe("Binary values (B, BS) as base64 text, the only choice in a project."),
  }),
  reader: (options) => dynamoDbExportReader(options),
});
