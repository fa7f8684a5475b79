/** Delta Lake tables: commits, reading, checkpoints and maintenance. */
export * from "./actions.js";
export * from "./commit.js";
export * from "./errors.js";
export * from "./log.js";
export * from "./log-store.js";
export * from "./maintenance.js";
export * from "./merge.js";
export * from "./schema.js";
export * from "./stats.js";
export * from "./table.js";
