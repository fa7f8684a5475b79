#!/usr/bin/env node
/**
 * Completes package-lock.json with the other platforms' optional native packages (biome, duckdb, polars
 * builds for darwin, win32, arm64...). When the registry in use can't resolve those builds, npm leaves them
 * out of the lockfile, and `npm ci` then refuses the lockfile as out of sync. Each entry added carries its
 * os/cpu/libc, so npm skips it on every other machine, exactly as it would with a complete lockfile.
 * Run after any `npm install` that changes the lockfile: `node scripts/complete-lockfile.mjs`.
 */
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

const OSES = ["android", "darwin", "linux", "win32", "freebsd", "openbsd", "sunos", "aix"];
const CPUS = ["arm64", "x64", "ia32", "arm", "ppc64", "s390x", "riscv64", "loong64"];

function platformOf(name) {
  const parts = name.split("/").at(-1).split("-");
  const os = OSES.find((o) => parts.includes(o));
  const cpu = CPUS.find((c) => parts.includes(c));
  const libc = os === "linux" ? (parts.includes("musl") ? "musl" : "glibc") : undefined;
  return { os, cpu, libc };
}

const added = [];
for (const [key, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${key ? `${key}/` : ""}node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    const { os, cpu, libc } = platformOf(name);
    if (!os && !cpu) continue; // not a platform build: leave it to npm
    packages[`node_modules/${name}`] = {
      version: spec.replace(/^[\^~=]/, ""),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...(os ? { os: [os] } : {}),
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(libc ? { libc: [libc] } : {}),
    };
    added.push(name);
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length === 0 ? "lockfile complete" : `added ${added.length} platform entries: ${added.join(", ")}`);
