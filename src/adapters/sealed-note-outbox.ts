import { createHmac, timingSafeEqual } from 'node:crypto';
import type { QueuedNote, SlackNoteOutbox } from './slack-note-outbox';

/** What the sealed outbox reports a forged line to. */
export interface ForgedLineReporter {
  error(message: string, fields: Record<string, unknown>): void;
}

/**
 * The outbox with each line sealed: an HMAC over the request's id and the line, keyed from the Slack bot
 * token (which every function that posts thread lines holds, and which PowerUser cannot read: its secret's
 * key admits only PolicyGate's roles). A line written to the table by anyone else (or moved to another
 * request) reads back `forged`: it is logged and taken off, never posted in PolicyGate's name. Whoever
 * holds the bot token can post in Slack anyway, so it grants nothing the key's holder lacks. A line
 * queued before the token was rotated no longer verifies either: it is dropped the same way, loudly.
 */
export class SealedSlackNoteOutbox implements SlackNoteOutbox {
  constructor(
    private readonly inner: SlackNoteOutbox,
    private readonly botToken: () => Promise<string>,
    private readonly reporter: ForgedLineReporter,
  ) {}

  async add(approvalId: string, note: QueuedNote, ttl: number): Promise<void> {
    const plain = plainOf(note);
    const seal = sealOf(await this.key(), approvalId, plain);
    await this.inner.add(approvalId, { ...plain, seal }, ttl);
  }

  /** The lines, forged ones marked; reported only when taken (once, by the poster that drops them). */
  async get(approvalId: string): Promise<QueuedNote[]> {
    return this.verified(approvalId, await this.inner.get(approvalId), false);
  }

  async take(approvalId: string, now: string, until: string): Promise<QueuedNote[] | undefined> {
    const notes = await this.inner.take(approvalId, now, until);
    return notes && this.verified(approvalId, notes, true);
  }

  done(approvalId: string, count: number, until: string): Promise<void> {
    return this.inner.done(approvalId, count, until);
  }

  pending(limit: number): Promise<string[]> {
    return this.inner.pending(limit);
  }

  private async verified(
    approvalId: string,
    notes: readonly QueuedNote[],
    report: boolean,
  ): Promise<QueuedNote[]> {
    if (notes.length === 0) return [];
    const key = await this.key();
    const checked = notes.map((note): QueuedNote => {
      const plain = plainOf(note);
      const expected = Buffer.from(sealOf(key, approvalId, plain));
      const given = Buffer.from(note.seal ?? '');
      const ok = given.length === expected.length && timingSafeEqual(given, expected);
      return ok ? plain : { text: '', forged: true };
    });
    const forged = checked.filter((n) => n.forged).length;
    if (forged > 0 && report) {
      // The text itself is not logged: it is whatever its writer wanted in the log.
      this.reporter.error('queued thread line not sealed by PolicyGate: not posted, taken off', {
        approvalId,
        forged,
      });
    }
    return checked;
  }

  /** The line key, derived from the current bot token once per call, not once per line. */
  private async key(): Promise<Buffer> {
    return createHmac('sha256', await this.botToken())
      .update(LINE_SEAL_CONTEXT)
      .digest();
  }
}

/** What a line's seal covers: its text and whether it is a redraw, nothing read back beside them. */
function plainOf(note: QueuedNote): { text: string; redraw?: true } {
  return { text: note.text, ...(note.redraw && { redraw: true as const }) };
}

function sealOf(key: Buffer, approvalId: string, note: { text: string; redraw?: true }): string {
  return createHmac('sha256', key)
    .update(JSON.stringify([approvalId, note.text, note.redraw === true]))
    .digest('base64url');
}

// Keys the line seals apart from any other use of the token (it is Slack's credential, not a MAC key).
const LINE_SEAL_CONTEXT = 'policy-gate/slack-outbox-line/v1';
