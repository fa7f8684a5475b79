/** The one optimistic retry of table commits: what is retried, on which state, and when it stops. */
import { describe, expect, it } from "vitest";
import { LostCommitRace, retryLostRaces } from "../../src/table/commit-retry.js";
import { DeltaConflictError } from "../../src/table/delta/errors.js";

const exhausted = (lost: LostCommitRace<number>) =>
  new DeltaConflictError("/t", 0, lost.winner, "won every race against this one");

describe("retryLostRaces", () => {
  it("starts each attempt on the state the lost race carried, and returns the attempt that lands", async () => {
    const seen: number[] = [];
    const result = await retryLostRaces(
      0,
      async (version) => {
        seen.push(version);
        if (version < 2) throw new LostCommitRace(version + 1, version + 1);
        return `landed on ${version}`;
      },
      { maxAttempts: 5, exhausted },
    );
    expect(result).toBe("landed on 2");
    expect(seen).toEqual([0, 1, 2]);
  });

  it("gives up at once on anything but a lost race", async () => {
    let attempts = 0;
    const conflict = new DeltaConflictError("/t", 0, 1, "removed a file this commit replaces");
    await expect(
      retryLostRaces(
        0,
        async () => {
          attempts++;
          throw conflict;
        },
        { maxAttempts: 5, exhausted },
      ),
    ).rejects.toBe(conflict);
    expect(attempts).toBe(1);
  });

  it("after maxAttempts lost races, throws the typed error exhausted makes of the last one", async () => {
    let attempts = 0;
    const failure = retryLostRaces(
      0,
      async (version) => {
        attempts++;
        throw new LostCommitRace(version + 1, 40 + version);
      },
      { maxAttempts: 3, exhausted },
    );
    await expect(failure).rejects.toThrow(DeltaConflictError);
    await expect(failure).rejects.toThrow(/but version 42, committed meanwhile/);
    expect(attempts).toBe(3);
  });
});
