/**
 * `snaplake/table`: the lake-table seam (`openLakeTable`) and Delta Lake tables: commits, time travel,
 * history, optimize and vacuum.
 */
export * from "../table/delta/index.js";
export * from "../table/index.js";
