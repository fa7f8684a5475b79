/**
 * The Populator's two config files, validated offline with zod (no schema is fetched from an Iglu registry):
 * - the storage target `iglu:com.snowplowanalytics.snowplow.storage/amazon_dynamodb_config/jsonschema/1-0-0`,
 *   `1-0-1` or `2-0-0` (field rules from github.com/snowplow/iglu-central,
 *   `schemas/com.snowplowanalytics.snowplow.storage/amazon_dynamodb_config/jsonschema/`);
 * - the Iglu resolver `iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-0` … `1-0-3`.
 * Errors name the field at fault and never echo a value (a value may be an access key).
 */
import { z } from "zod";
import { ConfigError, formatZodIssues } from "../errors.js";

const STORAGE_SCHEMA_PREFIX =
  "iglu:com.snowplowanalytics.snowplow.storage/amazon_dynamodb_config/jsonschema/";
const RESOLVER_SCHEMA_PREFIX = "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/";

// JSON Schema's `format: uuid` accepts any 8-4-4-4-12 hex string; z.guid() is that rule.
const uuid = z.guid();

const storageData100 = z.strictObject({
  name: z.string(),
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  awsRegion: z.string(),
  dynamodbTable: z.string(),
  purpose: z.literal("DUPLICATE_TRACKING"),
});

const storageData101 = storageData100.extend({ id: uuid.optional() });

const storageData200 = z.strictObject({
  name: z.string(),
  auth: z.strictObject({ accessKeyId: z.string(), secretAccessKey: z.string() }).nullable(),
  awsRegion: z.string(),
  dynamodbTable: z.string(),
  id: uuid,
  purpose: z.literal("EVENTS_MANIFEST"),
});

const STORAGE_DATA_SCHEMAS = {
  "1-0-0": storageData100,
  "1-0-1": storageData101,
  "2-0-0": storageData200,
} as const;
type StorageVersion = keyof typeof STORAGE_DATA_SCHEMAS;

const selfDescribing = z.object({ schema: z.string(), data: z.unknown() });

/** The storage config, normalized across versions. */
export interface DynamoDbStorageConfig {
  schemaVersion: StorageVersion;
  name: string;
  region: string;
  table: string;
  id?: string;
  purpose: "DUPLICATE_TRACKING" | "EVENTS_MANIFEST";
  /** Null: the default AWS credential chain (2-0-0 `auth: null`). */
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
}

/**
 * A self-describing JSON document (`{schema, data}`) whose schema is `prefix` + one of the versions of
 * `schemas`, with its data validated by that version's schema (issues named under `data.`).
 */
function parseVersioned<S extends Record<string, z.ZodType>>(
  json: unknown,
  source: string,
  prefix: string,
  schemas: S,
): { version: keyof S & string; data: z.output<S[keyof S]> } {
  const envelope = selfDescribing.safeParse(json);
  if (!envelope.success) throw new ConfigError(source, formatZodIssues(envelope.error.issues));
  const { schema } = envelope.data;
  const versions = Object.keys(schemas);
  const version = schema.startsWith(prefix) ? schema.slice(prefix.length) : undefined;
  if (!version || !versions.includes(version)) {
    throw new ConfigError(source, [
      `schema: expected one of ${versions.map((v) => prefix + v).join(", ")}, got "${schema.slice(0, 200)}"`,
    ]);
  }
  const parsed = schemas[version]!.safeParse(envelope.data.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ ...issue, path: ["data", ...issue.path] }));
    throw new ConfigError(source, formatZodIssues(issues));
  }
  return { version, data: parsed.data as z.output<S[keyof S]> };
}

/** Validates a self-describing amazon_dynamodb_config (1-0-0, 1-0-1 or 2-0-0). */
export function parseDynamoDbStorageConfig(json: unknown, source = "storage config"): DynamoDbStorageConfig {
  const { version: schemaVersion, data: config } = parseVersioned(
    json,
    source,
    STORAGE_SCHEMA_PREFIX,
    STORAGE_DATA_SCHEMAS,
  );
  const credentials =
    "auth" in config
      ? config.auth
      : { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
  return {
    schemaVersion,
    name: config.name,
    region: config.awsRegion,
    table: config.dynamodbTable,
    ...("id" in config && config.id ? { id: config.id } : {}),
    purpose: config.purpose,
    credentials,
  };
}

const embeddedConnection = z.strictObject({ embedded: z.strictObject({ path: z.string() }) });
const httpConnection = (apikey: z.ZodType | undefined) =>
  z.strictObject({
    http: z.strictObject({ uri: z.url(), ...(apikey ? { apikey: apikey.optional() } : {}) }),
  });

function resolverData(options: { apikey?: z.ZodType; cacheTtl?: z.ZodType }) {
  const repository = z.strictObject({
    name: z.string(),
    priority: z.number(),
    vendorPrefixes: z.array(z.string()),
    connection: z.union([embeddedConnection, httpConnection(options.apikey)]),
  });
  return z.strictObject({
    cacheSize: z.number(),
    ...(options.cacheTtl ? { cacheTtl: options.cacheTtl.optional() } : {}),
    repositories: z.array(repository),
  });
}

const RESOLVER_DATA_SCHEMAS = {
  "1-0-0": resolverData({}),
  "1-0-1": resolverData({ apikey: z.string() }),
  "1-0-2": resolverData({ apikey: z.string().nullable(), cacheTtl: z.int().min(1).nullable() }),
  "1-0-3": resolverData({ apikey: z.string().nullable(), cacheTtl: z.int().min(0).nullable() }),
} as const;

export interface IgluResolverConfig {
  schemaVersion: keyof typeof RESOLVER_DATA_SCHEMAS;
  cacheSize: number;
  repositories: Array<{ name: string; priority: number; vendorPrefixes: string[] }>;
}

/** Validates an Iglu resolver config structurally (1-0-0 … 1-0-3). Nothing is fetched. */
export function parseIgluResolverConfig(json: unknown, source = "Iglu resolver config"): IgluResolverConfig {
  const { version: schemaVersion, data } = parseVersioned(
    json,
    source,
    RESOLVER_SCHEMA_PREFIX,
    RESOLVER_DATA_SCHEMAS,
  );
  return {
    schemaVersion,
    cacheSize: data.cacheSize,
    repositories: data.repositories.map(({ name, priority, vendorPrefixes }) => ({
      name,
      priority,
      vendorPrefixes,
    })),
  };
}
