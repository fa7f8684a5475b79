/** snaplake's own version, from package.json (`../package.json` from both src/ and dist/). */
import { createRequire } from "node:module";

export const SNAPLAKE_VERSION: string = createRequire(import.meta.url)("../package.json").version;
