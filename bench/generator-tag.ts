/** Names for the generated inputs the benchmarks cache under bench/out/. */
import { sha256Hex } from "../src/models/fingerprint.js";
import { EnrichedEventGenerator, type GeneratorOptions } from "../src/snowplow/generator.js";

/**
 * 8 hex digits of the generator's first lines for these options: part of a cached input's name, so a
 * changed generator (or other options) never reuses an input generated before.
 */
export function generatorTag(options: GeneratorOptions): string {
  return sha256Hex(new EnrichedEventGenerator(options).linesBuffer(200)).slice(0, 8);
}
