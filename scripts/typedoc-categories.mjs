/**
 * typedoc plugin: sorts the public API into the categories a reader looks for (Project, Steps, Readers,
 * Tables, Snowplow, AWS, Errors, Testing, Storage and tracker), by the folder each export is declared in, so
 * the exports need no `@category` tags and a new export lands in its folder's category. An explicit
 * `@category` tag wins. Errors are every class named `...Error` (all extend SnaplakeError) and src/errors.ts.
 */
import { Comment, CommentTag, Converter, ReflectionKind } from "typedoc";

/** First match wins; paths are relative to the package root. */
const CATEGORY_BY_PATH = [
  [/^src\/errors\.ts$/, "Errors"],
  [/^src\/(testing|samples)\/|^src\/snowplow\/generator\.ts$/, "Testing"],
  [/^src\/steps\//, "Steps"],
  [/^src\/(readers|frames)\//, "Readers"],
  [/^src\/table\//, "Tables"],
  [/^src\/snowplow\//, "Snowplow"],
  [/^src\/(aws|clients)\//, "AWS"],
  [/^src\/(storage|tracker)\//, "Storage and tracker"],
  [/^src\//, "Project"],
];

export const CATEGORY_ORDER = [
  "Project",
  "Steps",
  "Readers",
  "Tables",
  "Storage and tracker",
  "Snowplow",
  "AWS",
  "Errors",
  "Testing",
];

function categoryOf(reflection, path) {
  if (reflection.kindOf(ReflectionKind.Class) && reflection.name.endsWith("Error")) return "Errors";
  return CATEGORY_BY_PATH.find(([pattern]) => pattern.test(path))?.[1];
}

/** @param {import("typedoc").Application} app */
export function load(app) {
  // Before typedoc's own CategoryPlugin, which reads the tags at RESOLVE_END with priority -200.
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    const project = context.project;
    for (const reflection of Object.values(project.reflections)) {
      if (!reflection.isDeclaration() || !reflection.parent?.kindOf(ReflectionKind.SomeModule)) continue;
      if (reflection.comment?.getTag("@category")) continue;
      const path = project.getSymbolIdFromReflection(reflection)?.packagePath;
      const category = path && categoryOf(reflection, path);
      if (!category) continue;
      reflection.comment ??= new Comment();
      reflection.comment.blockTags.push(new CommentTag("@category", [{ kind: "text", text: category }]));
    }
  });
}
