/**
 * snaplake's layers, lowest first; a module may import its own layer and the ones below, never above.
 * `npm run lint` checks them (dependency-cruiser, `npm run lint:layers`).
 *
 *   foundation   allocator, errors, logging, redact, compression, json-file, version, clients/ (AWS SDK clients, table helper)
 *   parts        config, storage/, tracker/ (storage and tracker know nothing of each other)
 *   models       models/ (manifests, locations), frames/, table/ (lake table formats: Delta),
 *                samples/ and testing/ (generators), readers/types.ts (the reader contract)
 *   steps        steps/ (one file per step; catalogue.ts defines them, settings.ts records what shapes them)
 *   composition  project.ts (composes the steps), runtime.ts (storage + tracker from a config)
 *   products     readers/ (formats for step 1.3), snowplow/ (reader, manifests, the ready project),
 *                configured-project.ts
 *   entry points aws/ (Lambda, Step Functions), cli/, index.ts and api/ (the public API: `snaplake` and its
 *                subpaths snaplake/lambda, /snowplow, /table, /testing)
 */
const FOUNDATION = "^src/(allocator|errors|logging|redact|compression|json-file|version)[.]ts$|^src/clients/";
const PARTS = "^src/(config[.]ts$|storage/|tracker/)";
const MODELS = "^src/(models/|frames/|table/|samples/|testing/|readers/types[.]ts$)";
const STEPS = "^src/steps/";
const COMPOSITION = "^src/(project|runtime)[.]ts$";
const PRODUCTS = "^src/(readers/(?!types[.]ts$)|snowplow/|configured-project[.]ts$)";
const ENTRY_POINTS = "^src/(aws/|cli/|api/|index[.]ts$)";

/** `from` may not import anything in `layers`. */
function below(name, from, layers, comment) {
  return { name, severity: "error", comment, from: { path: from }, to: { path: layers.join("|") } };
}

module.exports = {
  forbidden: [
    {
      name: "every-module-in-a-layer",
      severity: "error",
      comment: "A module outside every layer escapes the rules below: add its folder to a layer here.",
      from: { path: "^src/", pathNot: [FOUNDATION, PARTS, MODELS, STEPS, COMPOSITION, PRODUCTS, ENTRY_POINTS] },
      to: {},
    },
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle ties modules together: move the shared part down, or the type to its owner.",
      from: {},
      to: { circular: true },
    },
    below(
      "foundation-imports-only-foundation",
      FOUNDATION,
      [PARTS, MODELS, STEPS, COMPOSITION, PRODUCTS, ENTRY_POINTS],
      "errors, logging, clients etc. are the bottom layer: they import only each other.",
    ),
    below(
      "parts-below-models",
      PARTS,
      [MODELS, STEPS, COMPOSITION, PRODUCTS, ENTRY_POINTS],
      "config, storage and tracker know nothing of models, steps, projects or entry points.",
    ),
    {
      name: "storage-and-tracker-apart",
      severity: "error",
      comment: "Storage and tracker are independent parts; runtime.ts puts them together.",
      from: { path: "^src/(storage|tracker)/" },
      to: { path: "^src/(storage|tracker)/", pathNot: "^src/$1/" },
    },
    below(
      "models-below-steps",
      MODELS,
      [STEPS, COMPOSITION, PRODUCTS, ENTRY_POINTS],
      "models, frames, lake tables and the generators are what steps are made of: never a step or a project.",
    ),
    below(
      "steps-below-composition",
      STEPS,
      [COMPOSITION, PRODUCTS, ENTRY_POINTS],
      "A step is a plain function of its inputs: it never imports the project, the runtime or an entry point.",
    ),
    below(
      "composition-below-products",
      COMPOSITION,
      [PRODUCTS, ENTRY_POINTS],
      "project.ts and runtime.ts know no reader or product built on them, nor any entry point.",
    ),
    {
      name: "project-and-runtime-apart",
      severity: "error",
      comment: "A Project is given a runtime; it does not open one.",
      from: { path: "^src/project[.]ts$" },
      to: { path: "^src/runtime[.]ts$", dependencyTypesNot: ["type-only"] },
    },
    below(
      "products-below-entry-points",
      PRODUCTS,
      [ENTRY_POINTS],
      "Snowplow and configured projects are libraries: the Lambda, the CLI and index.ts use them, not the reverse.",
    ),
    {
      name: "nothing-imports-cli",
      severity: "error",
      comment: "The CLI is the top: no module, the public API included, imports it.",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "aws-only-from-cli-and-index",
      severity: "error",
      comment: "The Lambda and the state machine sit on top of the library; only the CLI and index.ts use them.",
      from: { path: "^src/", pathNot: "^src/(aws/|cli/|api/|index[.]ts$)" },
      to: { path: "^src/aws/" },
    },
    {
      name: "nothing-imports-the-public-api",
      severity: "error",
      comment: "index.ts re-exports the library; a module inside it imports the module it needs.",
      from: { path: "^src/" },
      to: { path: "^src/(index[.]ts$|api/)" },
    },
    {
      name: "not-to-dev-dependency",
      severity: "error",
      comment: "Published code may only use runtime dependencies: a devDependency is missing in a user's install.",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
    {
      name: "not-to-unlisted-package",
      severity: "error",
      comment: "Every package src imports must be in package.json.",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that does not resolve to a file or package.",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a cycle through types still ties the modules together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
      extensions: [".ts", ".d.ts", ".js", ".mjs", ".cjs"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
