/**
 * The error catalogue: every code thrown in src/ is in it with the class that throws it, the README's table
 * is generated from it, the Step Functions definition's non-retryable list comes from it, and `isRetryable`
 * sorts real errors (from the real SDK, polars and our own code) as a retry would need.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ListTablesCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import pl from "nodejs-polars";
import { describe, expect, inject, it } from "vitest";
import { NON_RETRYABLE_ERRORS } from "../src/aws/state-machine.js";
import { createDynamoDBClient } from "../src/clients/aws.js";
import {
  ERROR_CATALOGUE,
  type ErrorCatalogueEntry,
  errorCatalogueMarkdown,
  explainConnectionError,
  isRetryable,
} from "../src/errors.js";
import { applyDerivedColumns, SnapshotFileReadError } from "../src/steps/step-1-3-process-snapshot-group.js";
import { testDynamoClient } from "./support/clients.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const catalogue = ERROR_CATALOGUE as Record<string, ErrorCatalogueEntry>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Each `class X extends Y` of src/ with the catalogue codes written in its body. */
function declaredErrorClasses(): Array<{ file: string; name: string; codes: string[] }> {
  const found: Array<{ file: string; name: string; codes: string[] }> = [];
  for (const file of sourceFiles(join(root, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/^export class (\w+) extends (\w+)/gm)) {
      const body = text.slice(match.index, text.indexOf("\n}\n", match.index));
      const codes = [...body.matchAll(/"([A-Z][A-Z0-9_]{3,})"/g)]
        .map((m) => m[1]!)
        .filter((code) => code in catalogue);
      found.push({ file, name: match[1]!, codes });
    }
  }
  return found;
}

describe("error catalogue", () => {
  it("names, for every code thrown in src/, the class that throws it; no entry is unused", () => {
    const used = new Set<string>();
    for (const { file, name, codes } of declaredErrorClasses()) {
      for (const code of codes) {
        used.add(code);
        expect(catalogue[code]!.errorClass, `${code} in ${file}`).toBe(name);
      }
    }
    for (const file of sourceFiles(join(root, "src"))) {
      for (const m of readFileSync(file, "utf8").matchAll(/new (?:SnaplakeError|StorageError)\(\s*"(\w+)"/g))
        used.add(m[1]!);
    }
    expect([...used].sort()).toEqual(Object.keys(catalogue).sort());
  });

  it("the README's table of codes is the catalogue's (node scripts/update-readme-errors.mjs rewrites it)", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const block = /<!-- error-codes:begin -->\n([\s\S]*?)\n<!-- error-codes:end -->/.exec(readme);
    expect(block, "README.md has an error-codes block").not.toBeNull();
    expect(block![1]).toBe(errorCatalogueMarkdown());
    for (const code of Object.keys(catalogue)) expect(block![1]).toContain(`\`${code}\``);
  });

  it("Step Functions never retries a class the catalogue calls non-retryable, and retries the others", () => {
    for (const entry of Object.values(catalogue)) {
      if (entry.errorClass === "SnaplakeError") continue;
      const classCodes = Object.values(catalogue).filter((e) => e.errorClass === entry.errorClass);
      const final = classCodes.every((e) => e.retryable === false);
      expect(NON_RETRYABLE_ERRORS.includes(entry.errorClass), entry.errorClass).toBe(final);
    }
    expect(NON_RETRYABLE_ERRORS).toContain("DerivedColumnError");
    expect(NON_RETRYABLE_ERRORS).toContain("TaskAttemptsExhaustedError");
    expect(NON_RETRYABLE_ERRORS).not.toContain("TaskFailedError");
    expect(NON_RETRYABLE_ERRORS).not.toContain("StorageError");
  });
});

describe("isRetryable", () => {
  it("a refused connection is retryable, also wrapped in a read error, and explained in one line", async () => {
    const client = createDynamoDBClient({
      endpoint: "http://127.0.0.1:1",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
      maxAttempts: 1,
    });
    const refused = await client.send(new ListTablesCommand({})).catch((e: unknown) => e);
    client.destroy();
    expect(isRetryable(refused)).toBe(true);
    expect(new SnapshotFileReadError("s3://b/k", refused).retryable).toBe(true);

    const explained = explainConnectionError(new SnapshotFileReadError("s3://b/k", refused), [
      { url: "http://user:secret@127.0.0.1:1", setting: "aws.dynamodbEndpoint in c.json" },
    ]);
    expect(explained?.code).toBe("ENDPOINT_UNREACHABLE");
    expect(explained?.message).toContain("http://127.0.0.1:1");
    expect(explained?.message).toContain("aws.dynamodbEndpoint in c.json");
    expect(explained?.message).not.toContain("secret");
    expect(explained?.message).not.toContain("\n");
  });

  it("a 4xx answer of the service and JavaScript's own errors are not retryable; unknown errors are", async () => {
    const client = testDynamoClient(inject("servers").dynalite);
    const missing = await client
      .send(
        new QueryCommand({
          TableName: "no-such-table",
          KeyConditionExpression: "pk = :p",
          ExpressionAttributeValues: { ":p": { S: "x" } },
        }),
      )
      .catch((e: unknown) => e);
    client.destroy();
    expect((missing as Error).name).toBe("ResourceNotFoundException");
    expect(isRetryable(missing)).toBe(false);

    const typeError = (() => {
      try {
        (null as unknown as { x: { y: number } }).x.y;
      } catch (error) {
        return error;
      }
    })();
    expect(isRetryable(typeError)).toBe(false);
    expect(isRetryable(new Error("something we know nothing about"))).toBe(true);
  });

  it("a derived column whose expression fails on the data is not retryable, and names the column", () => {
    const frame = pl.DataFrame({ a: [1, 2] });
    const error = (() => {
      try {
        applyDerivedColumns(frame, [{ name: "year", expr: pl.col("order_time").dt.strftime("%Y") }]);
      } catch (e) {
        return e as Error & { code?: string; retryable?: boolean };
      }
    })();
    expect(error?.code).toBe("DERIVED_COLUMN_FAILED");
    expect(error?.retryable).toBe(false);
    expect(isRetryable(error)).toBe(false);
    expect(error?.message).toContain('"year"');
    expect(error?.message).toContain("order_time");
    expect(error?.message).not.toContain("\n");
  });
});
