export * from "./fields.js";
export * from "./errors.js";
export * from "./iglu.js";
export * from "./rules.js";
export * from "./transform.js";
export * from "./reader.js";
export * from "./generator.js";
