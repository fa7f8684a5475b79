/**
 * docs/aws-deployment.md's IAM section against the code: every AWS SDK command in src/ and every service
 * the generated state machine integrates with must have its IAM actions listed, in the row of its feature
 * and in the example policies, so the doc can't fall behind when a call is added.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { type AslState, buildStateMachine } from "../../src/aws/state-machine.js";
import { LAMBDA_ARN } from "./lambda-fixture.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** The IAM actions a call needs: SDK commands, dynamodb-toolbox commands, paginators, lib-storage's Upload. */
const ACTIONS: Record<string, string[]> = {
  GetObjectCommand: ["s3:GetObject"],
  HeadObjectCommand: ["s3:GetObject"],
  PutObjectCommand: ["s3:PutObject"],
  DeleteObjectsCommand: ["s3:DeleteObject"],
  HeadBucketCommand: ["s3:ListBucket"],
  paginateListObjectsV2: ["s3:ListBucket"],
  // Multipart: CreateMultipartUpload, UploadPart, CompleteMultipartUpload, and AbortMultipartUpload on failure.
  Upload: ["s3:PutObject", "s3:AbortMultipartUpload"],
  // Promoting a staging file into the lake: a copy reads the source and writes the target (multipart above 5 GB).
  CopyObjectCommand: ["s3:GetObject", "s3:PutObject"],
  CreateMultipartUploadCommand: ["s3:PutObject"],
  UploadPartCopyCommand: ["s3:GetObject", "s3:PutObject"],
  CompleteMultipartUploadCommand: ["s3:PutObject"],
  AbortMultipartUploadCommand: ["s3:AbortMultipartUpload"],
  CreateTableCommand: ["dynamodb:CreateTable"],
  DescribeTableCommand: ["dynamodb:DescribeTable"],
  DescribeTimeToLiveCommand: ["dynamodb:DescribeTimeToLive"],
  UpdateTimeToLiveCommand: ["dynamodb:UpdateTimeToLive"],
  GetItemCommand: ["dynamodb:GetItem"],
  PutItemCommand: ["dynamodb:PutItem"],
  UpdateItemCommand: ["dynamodb:UpdateItem"],
  DeleteItemCommand: ["dynamodb:DeleteItem"],
  QueryCommand: ["dynamodb:Query"],
  BatchGetCommand: ["dynamodb:BatchGetItem"],
  // Glue commands share names with DynamoDB's (CreateTableCommand), so awsCalls prefixes them "Glue.".
  "Glue.GetTableCommand": ["glue:GetTable"],
  "Glue.CreateTableCommand": ["glue:CreateTable"],
  "Glue.UpdateTableCommand": ["glue:UpdateTable"],
};

/** The row of the doc's feature table that must list the actions of these files' calls. */
const FEATURES: Array<{ row: string; files: string[] }> = [
  { row: "Staging and lake", files: ["src/storage/s3.ts"] },
  { row: "Tracker table (", files: ["src/tracker/dynamo-tracker.ts"] },
  { row: "Creating the tracker table", files: ["src/clients/dynamodb-table.ts"] },
  {
    row: "Event manifest, back-filled",
    files: [
      "src/snowplow/event-manifest.ts",
      "src/snowplow/run-manifests.ts",
      "src/clients/dynamodb-table.ts",
    ],
  },
  { row: "Run manifests", files: ["src/snowplow/run-manifests.ts", "src/clients/dynamodb-table.ts"] },
  { row: "Delta log store", files: ["src/table/delta/log-store.ts"] },
  { row: "Glue Data Catalog", files: ["src/clients/aws.ts"] },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The AWS calls a source file makes (by the command's name). */
function awsCalls(file: string): string[] {
  const source = readFileSync(join(ROOT, file), "utf8");
  const pattern =
    /new ([A-Z]\w*Command)\(|\.build\(([A-Z]\w*Command)\)|\b(paginate[A-Z]\w*|waitUntil[A-Z]\w*)\(|new (Upload)\(/g;
  const glueImport = /import \{([^}]*)\} from "@aws-sdk\/client-glue"/.exec(source)?.[1] ?? "";
  const fromGlue = new Set(glueImport.split(",").map((name) => name.replace(/^\s*type\s+/, "").trim()));
  return [
    ...new Set(
      [...source.matchAll(pattern)]
        .map((m) => (m[1] ?? m[2] ?? m[3] ?? m[4])!)
        .map((call) => (fromGlue.has(call) ? `Glue.${call}` : call)),
    ),
  ];
}

function actionsOf(files: string[]): string[] {
  return [...new Set(files.flatMap(awsCalls).flatMap((call) => ACTIONS[call] ?? [`<unmapped ${call}>`]))];
}

/** The IAM actions the generated state machine's role needs, from the resources and Maps in it. */
function stateMachineActions(): string[] {
  const machine = buildStateMachine({ lambdaArn: LAMBDA_ARN, projectId: "p" });
  const actions = new Set<string>();
  const visit = (states: Record<string, AslState>) => {
    for (const state of Object.values(states)) {
      if (state.Type === "Task") {
        expect(state.Resource).toBe("arn:aws:states:::lambda:invoke");
        actions.add("lambda:InvokeFunction");
      }
      if (state.Type !== "Map") continue;
      expect(state.ItemReader.Resource).toBe("arn:aws:states:::s3:getObject");
      actions.add("s3:GetObject");
      // Step Functions' documented needs of a ResultWriter and of a Distributed Map's child executions.
      expect(state.ResultWriter.Resource).toBe("arn:aws:states:::s3:putObject");
      for (const a of [
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
      ])
        actions.add(a);
      expect(state.ItemProcessor.ProcessorConfig.Mode).toBe("DISTRIBUTED");
      for (const a of ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"])
        actions.add(a);
      visit(state.ItemProcessor.States);
    }
  };
  visit(machine.States);
  return [...actions];
}

const doc = readFileSync(join(ROOT, "docs/aws-deployment.md"), "utf8");
const iamSection = doc.slice(doc.indexOf("## 4. IAM permissions"), doc.indexOf("## 5."));

function names(text: string, action: string): boolean {
  return new RegExp(`(^|[^\\w:])${action.replace(/[.*]/g, "\\$&")}(?![\\w])`).test(text);
}

function missing(text: string, actions: string[]): string[] {
  return actions.filter((action) => !names(text, action));
}

function tableRow(label: string): string {
  const row = iamSection.split("\n").find((line) => line.startsWith(`| ${label}`));
  expect(row, `the IAM table has no row starting with "${label}"`).toBeDefined();
  return row!;
}

/** The actions of the example policy in the first JSON block after `heading` (which must parse). */
function policyActions(heading: string): string[] {
  const at = iamSection.indexOf(heading);
  expect(at, `no "${heading}" in the IAM section`).toBeGreaterThan(-1);
  const block = /```json\n([\s\S]*?)```/.exec(iamSection.slice(at));
  const policy = JSON.parse(block![1]!) as { Statement: Array<{ Action: string | string[] }> };
  return policy.Statement.flatMap((s) => s.Action);
}

describe("docs/aws-deployment.md: IAM permissions cover every AWS call", () => {
  it("every SDK command in src has its actions mapped here, and its file belongs to a feature row", () => {
    const calling = sourceFiles("src").filter((file) => awsCalls(file).length > 0);
    expect(calling.length).toBeGreaterThan(3);
    for (const file of calling) {
      expect(
        actionsOf([file]).filter((a) => a.startsWith("<")),
        `${file}: add to ACTIONS`,
      ).toEqual([]);
      expect(
        FEATURES.some((f) => f.files.includes(file)),
        `${relative(ROOT, join(ROOT, file))} makes AWS calls: give it a feature row in FEATURES and the doc`,
      ).toBe(true);
    }
  });

  it("the IAM section names every action the code and the state machine need", () => {
    const all = [...actionsOf(sourceFiles("src")), ...stateMachineActions()];
    expect(missing(iamSection, all)).toEqual([]);
  });

  it("each feature's row lists the actions of its calls", () => {
    for (const { row, files } of FEATURES) expect(missing(tableRow(row), actionsOf(files)), row).toEqual([]);
    expect(missing(tableRow("Step Functions"), stateMachineActions())).toEqual([]);
  });

  it("has a row for each feature a deployment may use: manifestUri, config URIs, KMS, the event manifest", () => {
    expect(tableRow("Snapshot manifest (`snapshot.manifestUri`)")).toContain("s3:GetObject");
    expect(tableRow("Config in S3")).toContain("--config-uri");
    expect(missing(tableRow("SSE-KMS"), ["kms:Decrypt", "kms:GenerateDataKey"])).toEqual([]);
    expect(tableRow("Event manifest in step 1.3 (`reader.eventManifestTable`)")).toContain(
      "dynamodb:PutItem",
    );
  });

  it("the example policies are valid JSON and give the Lambda and the state machine what they call", () => {
    const lambda = policyActions("**Lambda execution role**");
    const stateMachine = policyActions("**State machine role:**");
    const worker = actionsOf(["src/storage/s3.ts", "src/tracker/dynamo-tracker.ts"]);
    expect(worker.filter((a) => !lambda.includes(a))).toEqual([]);
    expect(stateMachineActions().filter((a) => !stateMachine.includes(a))).toEqual([]);
  });
});
