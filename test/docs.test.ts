/**
 * The docs stay honest: the config examples in README.md, the pages of docs/ and the examples' READMEs are
 * valid configs, every `snaplake <command>` they show exists in the built CLI, and the README links every
 * task page.
 *
 * Marker convention: a fenced block whose info string is `json snaplake` or `jsonc snaplake` (the language,
 * then the word snaplake) holds a whole snaplake config file. It must validate against snaplake.schema.json
 * (as an editor would check it) and parse with snaplake's own config parser (which also checks what JSON
 * Schema can't say, such as a merge needing a Delta table). Other JSON blocks (IAM policies, events,
 * fragments of a config) carry no marker and are not checked. Editors and GitHub highlight the block by its
 * first word as usual.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { type ParseError, parse, printParseErrorCode } from "jsonc-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfiguredProject } from "../src/configured-project.js";
import { runBuiltCli } from "./support/cli.js";
import { tempDir } from "./support/temp-dir.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const docFiles = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
  ...readdirSync(join(root, "examples"))
    .filter((name) => existsSync(join(root, "examples", name, "README.md")))
    .map((name) => `examples/${name}/README.md`),
];

interface Fence {
  file: string;
  line: number;
  info: string[];
  body: string;
}

function fencesOf(file: string): Fence[] {
  const fences: Fence[] = [];
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i]!.match(/^\s*```(.*)$/);
    if (!open) continue;
    const start = i;
    while (++i < lines.length && !/^\s*```\s*$/.test(lines[i]!));
    fences.push({
      file,
      line: start + 1,
      info: open[1]!.trim().split(/\s+/).filter(Boolean),
      body: lines.slice(start + 1, i).join("\n"),
    });
  }
  return fences;
}

/** Inline code spans outside fences. */
function codeSpansOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8").replace(/^\s*```[\s\S]*?^\s*```\s*$/gm, "");
  return [...text.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!);
}

/** `snaplake <command> [<subcommand>]` as shown in code: the command words (alternatives a|b split). */
function commandsIn(code: string): string[][] {
  return [...code.matchAll(/(?:^|[\s(;&|])snaplake ([a-z][a-z0-9-]*)(?: ([a-z][a-z0-9|-]*))?/gm)].map(
    ([, command, sub]) => [command!, ...(sub ? sub.split("|").filter(Boolean) : [])],
  );
}

/** The command names a `--help` lists under "Commands:". */
function commandNames(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][a-z0-9-]*)(?:\|[a-z0-9-]+)?/gm)].map((match) => match[1]!);
}

describe("docs", () => {
  let helpOf: (args: string[]) => Promise<string>;

  beforeAll(() => {
    const cwd = tempDir("snaplake-docs-");
    const cache = new Map<string, Promise<string>>();
    helpOf = (args) => {
      const key = args.join(" ");
      if (!cache.has(key)) {
        cache.set(
          key,
          runBuiltCli([...args, "--help"], cwd).then((result) => {
            expect(result.code, `snaplake ${key} --help: ${result.stderr}`).toBe(0);
            return result.stdout;
          }),
        );
      }
      return cache.get(key)!;
    };
  });

  it("every config block marked `jsonc snaplake` validates against snaplake.schema.json and parses", () => {
    const schema = JSON.parse(readFileSync(join(root, "snaplake.schema.json"), "utf8"));
    const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    const configs = docFiles
      .flatMap(fencesOf)
      .filter((fence) => fence.info.includes("snaplake") && /^jsonc?$/.test(fence.info[0] ?? ""));
    for (const fence of configs) {
      const where = `${fence.file}:${fence.line}`;
      const errors: ParseError[] = [];
      const config = parse(fence.body, errors, { allowTrailingComma: false });
      expect(
        errors.map((error) => `${printParseErrorCode(error.error)} at offset ${error.offset}`),
        where,
      ).toEqual([]);
      expect(validate(config), `${where}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(() => parseConfiguredProject(config, where), where).not.toThrow();
    }
    // The pages that show a config mark it, so the check above has something to check.
    const marked = new Set(configs.map((fence) => fence.file));
    for (const page of [
      "docs/from-dynamodb.md",
      "docs/from-rds.md",
      "docs/tables.md",
      "docs/aws-deployment.md",
    ]) {
      expect(marked, page).toContain(page);
    }
  });

  it("every `snaplake <command>` the docs show is a command of the built CLI", async () => {
    const top = commandNames(await helpOf([]));
    expect(top).toContain("run");
    const shown = docFiles.flatMap((file) =>
      [...fencesOf(file).map((fence) => fence.body), ...codeSpansOf(file)].flatMap((code) =>
        commandsIn(code).map((words) => ({ file, words })),
      ),
    );
    expect(shown.length).toBeGreaterThan(20);
    for (const { file, words } of shown) {
      expect(top, `${file}: snaplake ${words.join(" ")}`).toContain(words[0]);
    }
    // A command with subcommands: the word after it must be one (a leaf command takes arguments there).
    const withSubs = [
      ...new Set(shown.filter(({ words }) => words.length > 1).map(({ words }) => words[0]!)),
    ];
    const groups = new Map(
      await Promise.all(
        withSubs.map(async (command) => [command, commandNames(await helpOf([command]))] as const),
      ),
    );
    expect(groups.get("table")).toEqual(expect.arrayContaining(["history", "files"]));
    for (const { file, words } of shown) {
      const [command, ...subs] = words;
      const group = groups.get(command!) ?? [];
      if (group.length === 0) continue;
      for (const sub of subs) expect(group, `${file}: snaplake ${command} ${sub}`).toContain(sub);
    }
  });

  it("the README links every task page of docs/", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    for (const page of docFiles.filter((file) => file.startsWith("docs/"))) {
      expect(readme, page).toContain(`](${page})`);
    }
  });
});
