/**
 * Spaces one poster's `chat.postMessage` calls to Slack's per-channel limit (about one a second in each
 * channel): each call takes the next slot of its channel, reserved before it waits, so concurrent callers
 * never share one, and posts to other channels (an OU's own, issue 13) do not wait for it. Only posts are
 * paced: `chat.update` has its own per-method tier, met with its `Retry-After`.
 */
export class PostPacer {
  private readonly nextAt = new Map<string, number>();
  /** No slot in any channel before this (ms since the epoch): a wait Slack asked for, channel unknown. */
  private floor = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Waits for this call's slot in `channel`. */
  async turn(channel = ''): Promise<void> {
    const now = Date.now();
    const next = Math.max(this.nextAt.get(channel) ?? 0, this.floor);
    this.nextAt.set(channel, Math.max(now, next) + this.intervalMs);
    if (this.nextAt.size > MAX_CHANNELS) this.forgetPast(now);
    const wait = next - now;
    if (wait > 0) await this.sleep(wait);
  }

  /** No slot before `at` (ms since the epoch) in `channel`, or in every channel when none is named. */
  holdUntil(at: number, channel?: string): void {
    if (channel === undefined) {
      this.floor = Math.max(this.floor, at);
      return;
    }
    this.nextAt.set(channel, Math.max(this.nextAt.get(channel) ?? 0, at));
  }

  private forgetPast(now: number): void {
    for (const [channel, at] of this.nextAt) if (at <= now) this.nextAt.delete(channel);
  }
}

// One worker posts to a stage's channels (one per OU at most): bounded all the same.
const MAX_CHANNELS = 1_000;
