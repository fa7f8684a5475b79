/**
 * Optimistic concurrency, the one way every table commit retries (Delta commits, Iceberg commits and
 * Iceberg's snapshot expiry): an attempt builds on the table state it read and either lands, or finds
 * that another writer committed first. When this commit can go on top of the winners, the attempt throws
 * `LostCommitRace` with the state to build on next, and the next attempt starts at once; anything else it
 * throws (a real conflict, any error) ends the retries. After `maxAttempts` lost races in a row,
 * `exhausted` makes the format's typed conflict error: a LostCommitRace never leaves this module's callers.
 */
import pRetry from "p-retry";

/** A lost race this commit can be reordered after: retried on top of `next`. */
export class LostCommitRace<State> extends Error {
  constructor(
    /** The table state the winners left, for the next attempt. */
    readonly next: State,
    /** The winners' latest version (Delta) or snapshot id (Iceberg), for the message when retries run out. */
    readonly winner: number,
  ) {
    super(`another writer committed version ${winner} first`);
    this.name = "LostCommitRace";
  }
}

export async function retryLostRaces<State, Result>(
  first: State,
  attempt: (state: State) => Promise<Result>,
  options: { maxAttempts: number; exhausted: (lost: LostCommitRace<State>) => Error },
): Promise<Result> {
  let state = first;
  try {
    return await pRetry(
      async () => {
        try {
          return await attempt(state);
        } catch (error) {
          if (error instanceof LostCommitRace) state = error.next as State;
          throw error;
        }
      },
      {
        retries: Math.max(0, options.maxAttempts - 1),
        // The winners are read already: the next attempt has nothing to wait for.
        minTimeout: 0,
        maxTimeout: 0,
        shouldRetry: ({ error }) => error instanceof LostCommitRace,
      },
    );
  } catch (error) {
    if (error instanceof LostCommitRace) throw options.exhausted(error as LostCommitRace<State>);
    throw error;
  }
}
