/**
 * Spaces one poster's `chat.postMessage` calls to a channel's limit (Slack allows about one a second):
 * each call takes the next slot, reserved before it waits, so concurrent callers never share one. Only
 * posts are paced: `chat.update` has its own per-method tier, met with its `Retry-After`.
 */
export class PostPacer {
  private nextAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Waits for this call's slot. */
  async turn(): Promise<void> {
    const now = Date.now();
    const wait = this.nextAt - now;
    this.nextAt = Math.max(now, this.nextAt) + this.intervalMs;
    if (wait > 0) await this.sleep(wait);
  }

  /** No slot before `at` (ms since the epoch): Slack said to wait until then. */
  holdUntil(at: number): void {
    this.nextAt = Math.max(this.nextAt, at);
  }
}
