/**
 * Adding a step touches the catalogue and the step's own file, nothing else. This test shows it on a copy
 * of `src/`: it writes a new step file ("3.5 audit", a single-task step between validate and commit),
 * adds its entry to the copy's `steps/catalogue.ts`, and checks that the CLI's step names, the Lambda's
 * events, the state machine (checked by asl-validator), `status` and `runAll` (on the real runtime: local
 * folders, the embedded tracker on dynalite) all take it up.
 */
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import type * as Catalogue from "../../src/steps/catalogue.js";
import { checkAsl } from "../aws/asl-check.js";
import { tempDir } from "../support/temp-dir.js";

const REPO = resolve(import.meta.dirname, "../..");

/** The new step's file: it counts the runs it audited, so the test can see `runAll` ran it. */
const STEP_FILE = `
export const audited: string[] = [];

export async function auditLake(projectId: string): Promise<{ audited: number }> {
  audited.push(projectId);
  return { audited: audited.length };
}
`;

/** The new step's catalogue entry, placed before step 4's. */
const ENTRY = `  {
    key: "audit",
    id: "3.5-audit",
    number: "3.5",
    name: "audit",
    aliases: [],
    kind: "single-task",
    summary: "a test's step: counts the runs it saw",
    settings: [],
    run: (runner) => auditLake((runner as unknown as { projectId: string }).projectId),
    summarize: (output) => ({ ...(output as object) }),
    state: { name: "Audit", resultPath: "$.audit" },
  },
`;

/** A copy of src/ with the new step: its own file and one entry (and its import) in the catalogue. */
function sourceWithAuditStep(): string {
  const dir = tempDir("snaplake-add-a-step-");
  cpSync(join(REPO, "src"), join(dir, "src"), { recursive: true });
  cpSync(join(REPO, "package.json"), join(dir, "package.json"));
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "src/steps/step-3-5-audit.ts"), STEP_FILE);
  const cataloguePath = join(dir, "src/steps/catalogue.ts");
  const catalogue = readFileSync(cataloguePath, "utf8");
  const commit = catalogue.indexOf('  {\n    key: "commit",');
  expect(commit).toBeGreaterThan(0);
  writeFileSync(
    cataloguePath,
    `import { auditLake } from "./step-3-5-audit.js";\n${catalogue.slice(0, commit)}${ENTRY}${catalogue.slice(commit)}`,
  );
  return dir;
}

describe("adding a step", () => {
  it("is one catalogue entry and one file: the CLI, the Lambda, the state machine and runAll follow", async () => {
    const dir = sourceWithAuditStep();
    const src = join(dir, "src");
    const catalogue: typeof Catalogue = await import(join(src, "steps/catalogue.ts"));
    const { stepHelp } = await import(join(src, "cli/commands/project.ts"));
    const { lambdaEventSchema } = await import(join(src, "aws/lambda.ts"));
    const { buildStateMachine } = await import(join(src, "aws/state-machine.ts"));
    const { openRuntime } = await import(join(src, "runtime.ts"));
    const { createConfiguredProject, parseConfiguredProject } = await import(
      join(src, "configured-project.ts")
    );
    const { audited } = await import(join(src, "steps/step-3-5-audit.ts"));

    expect(
      catalogue
        .stepNames()
        .filter((n) => n.step === ("3.5-audit" as string))
        .map((n) => n.name),
    ).toEqual(["3.5", "audit", "3.5-audit"]);
    expect(stepHelp()).toContain("3|validate, 3.5|audit, 4|commit");
    expect(catalogue.SINGLE_TASK_STEPS).toContain("3.5-audit");
    expect(lambdaEventSchema.safeParse({ action: "step", step: "3.5-audit" }).success).toBe(true);
    expect(lambdaEventSchema.safeParse({ action: "todo", step: "3.5-audit" }).success).toBe(false);

    const machine = buildStateMachine({
      lambdaArn: "arn:aws:lambda:eu-west-1:123456789012:function:snaplake",
      projectId: "p",
    });
    expect(checkAsl(machine)).toEqual([]);
    expect(machine.States.Validate).toMatchObject({ Next: "Audit" });
    expect(machine.States.Audit).toMatchObject({ Next: "Commit" });

    // A run on the real runtime takes the step in its place, and status counts it.
    const parquet = pl.DataFrame({ id: [1, 2, 3], day: ["a", "a", "b"] }).writeParquet();
    mkdirSync(join(dir, "snapshot"));
    writeFileSync(join(dir, "snapshot/part-0.parquet"), parquet);
    const definition = parseConfiguredProject({
      projectId: "add-a-step",
      snapshot: { uri: join(dir, "snapshot/") },
      stagingUri: join(dir, "staging/"),
      datalakeUri: join(dir, "lake/"),
      partitionKeys: ["day"],
    });
    const runtime = await openRuntime(definition.config, { stateDir: join(dir, "state") });
    try {
      const project = createConfiguredProject(definition, runtime);
      const started: string[] = [];
      const summary = await project.runAll({
        onActivity: (event: { type: string; step?: string }) => {
          if (event.type === "step-started" && event.step) started.push(event.step);
        },
      });
      expect(summary.validation.ok).toBe(true);
      expect(audited).toEqual(["add-a-step"]);
      expect(started.slice(-3)).toEqual(["3-validate", "3.5-audit", "4-commit"]);
      expect(Object.keys(await project.status())).toContain("3.5-audit");
    } finally {
      await runtime.close();
    }
  });
});
