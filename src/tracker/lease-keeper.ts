/** Keeps a claimed task's lease alive while its function runs (used by `DynamoTracker.runTask`). */
import type { Logger } from "../logging.js";
import { LeaseLostError } from "./errors.js";
import type { Lease } from "./types.js";

/** Extends the lease every `intervalMs` while a task runs; aborts `controller` when the lease is lost. */
export class LeaseKeeper {
  private current: Lease;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly tracker: { heartbeat(lease: Lease): Promise<Lease> },
    lease: Lease,
    private readonly intervalMs: number,
    private readonly controller: AbortController,
    private readonly logger: Logger,
  ) {
    this.current = lease;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.inFlight = this.beat().finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.intervalMs);
  }

  private async beat(): Promise<void> {
    try {
      this.current = await this.tracker.heartbeat(this.current);
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof LeaseLostError) {
        this.stopped = true;
        this.controller.abort(error);
        return;
      }
      // A transient failure: the lease may still be ours; the next beat (or the fenced complete) will tell.
      const { projectId, step, taskId } = this.current;
      this.logger.warn({ projectId, step, taskId, err: error }, "heartbeat failed; will retry");
    }
  }

  /** Stops heartbeats and returns the latest lease (after any heartbeat in flight). */
  async stop(): Promise<Lease> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    return this.current;
  }
}
