import { parseStrictJson } from '../../domain/json-strict';
import { decodePolicyText } from '../../domain/policy-text';

/**
 * Safe building blocks for Slack mrkdwn. Everything PolicyGate shows about a change (policy and
 * principal names, ARNs, user agents, session names, the policy text) comes from the event, so from
 * whoever made the change: it must never mention `@channel`, inject a link or break out of a code block.
 */

/**
 * Escapes text for mrkdwn (`&`, `<`, `>`), the three characters Slack gives meaning to: with them
 * escaped, `<!channel>`, `<@U123>` and `<https://evil|click>` are shown as typed instead of acting.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Control characters (other than tab and newline), invisible and bidirectional formatting characters
 * (which can make a name read differently from what it is) and lone surrogates (which make
 * `encodeURIComponent` throw).
 */
const UNSAFE_CHARS = new RegExp(
  '[\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF\\u2028\\u2029]' +
    '|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]',
  'g',
);

/** Replaces {@link UNSAFE_CHARS} by U+FFFD so they are visible rather than effective. */
export function cleanText(text: string): string {
  return text.replace(UNSAFE_CHARS, '\uFFFD');
}

/** A prefix of some text, escaped, and how much of the original text it leaves out. */
export interface Fitted {
  /** The escaped prefix. */
  readonly text: string;
  /** UTF-16 units of the original text not included. */
  readonly cut: number;
}

function escapeChar(ch: string): string {
  if (ch === '&') return '&amp;';
  if (ch === '<') return '&lt;';
  if (ch === '>') return '&gt;';
  return ch;
}

/**
 * The longest prefix of `raw` whose escaped form is at most `max` characters, escaped. It never cuts
 * through an escape sequence or a surrogate pair, so the result is always well-formed.
 */
export function fitEscaped(raw: string, max: number): Fitted {
  let out = '';
  let used = 0;
  for (const ch of raw) {
    const escaped = escapeChar(ch);
    if (out.length + escaped.length > max) break;
    out += escaped;
    used += ch.length;
  }
  return { text: out, cut: raw.length - used };
}

/** `… (1,234 more characters)`. */
export function cutNote(cut: number, noun = 'character'): string {
  return `… (${cut.toLocaleString('en-US')} more ${noun}${cut === 1 ? '' : 's'})`;
}

// Room for the longest cut note, e.g. `… (99,999,999 more characters)`.
const NOTE_ROOM = 32;

/**
 * An untrusted value as inline code (`value`), at most `max` characters in all. Newlines become
 * spaces and backticks a look-alike (ˋ) so the value cannot end the span; inside a code span Slack also
 * turns no bare URL into a link. A long value is cut and says by how much.
 */
export function inlineCode(raw: string, max = 300): string {
  const clean = cleanText(raw)
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/`/g, 'ˋ');
  if (clean.trim() === '') return '_(empty)_';
  const whole = fitEscaped(clean, max - 2);
  if (whole.cut === 0) return `\`${whole.text}\``;
  const part = fitEscaped(clean, Math.max(1, max - 2 - NOTE_ROOM));
  return `\`${part.text}\`${cutNote(part.cut)}`;
}

/**
 * An untrusted value as escaped prose on one line, at most `max` characters, cut with a note. Backticks
 * become a look-alike (ˋ) so the value cannot open a code span that swallows the text after it.
 */
export function plainText(raw: string, max = 300): string {
  const clean = cleanText(raw)
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/`/g, 'ˋ');
  const whole = fitEscaped(clean, max);
  if (whole.cut === 0) return whole.text;
  const part = fitEscaped(clean, Math.max(1, max - NOTE_ROOM));
  return `${part.text}${cutNote(part.cut)}`;
}

/** A code block's escaped content and how many characters of the original did not fit. */
export interface FittedBlock {
  readonly text: string;
  readonly cut: number;
}

/**
 * Escaped content for a ```code block``` of at most `max` characters (fences included), cut at a line
 * end where possible. `body` must hold no backticks (see {@link codeBlockBody}).
 */
export function fitCodeBlock(body: string, max: number): FittedBlock {
  const room = max - 6;
  const lines = body.split('\n');
  let out = '';
  let shown = 0;
  for (const [i, line] of lines.entries()) {
    const prefix = i === 0 ? '' : '\n';
    const fitted = fitEscaped(prefix + line, room - out.length);
    if (fitted.cut > 0) {
      // Only the very first line is ever cut mid-way, so the view is never empty.
      if (out === '') {
        out = fitted.text;
        shown = prefix.length + line.length - fitted.cut;
      }
      break;
    }
    out += fitted.text;
    shown += prefix.length + line.length;
  }
  return { text: `\`\`\`${out}\`\`\``, cut: body.length - shown };
}

// Characters JSON leaves literal but that could end a code block or disguise text.
const JSON_RISKY = /[`\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u2028\u2029]/g;

/**
 * The text to show for a policy document: pretty-printed when it is JSON (URL-encoded or not), with the
 * characters that could end a code block or disguise text written as JSON `\uXXXX` escapes, which keeps
 * the document's meaning exactly; otherwise the raw text, cleaned, with backticks replaced by ˋ.
 */
export function codeBlockBody(document: string): { readonly body: string; readonly json: boolean } {
  if (document.trim() === '') return { body: '(empty)', json: false };
  const parsed = parseJsonText(document);
  if (parsed.ok) {
    const pretty = JSON.stringify(parsed.value, null, 2) ?? 'null';
    const body = pretty.replace(JSON_RISKY, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return { body, json: true };
  }
  return { body: cleanText(document).replace(/\r\n?/g, '\n').replace(/`/g, 'ˋ'), json: false };
}

function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false } {
  // The strict reading: a document with duplicate keys is shown as received, never as the one value
  // JSON.parse would keep, so the reviewer sees every key IAM may read.
  try {
    return { ok: true, value: parseStrictJson(decodePolicyText(text)) };
  } catch {
    return { ok: false };
  }
}

/**
 * A time as Slack date formatting (`<!date^EPOCH^{date_short_pretty} {time}|ISO>`), shown in each
 * reader's own time zone; a text that is no valid time is shown as inline code instead.
 */
export function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || ms < 0) return inlineCode(iso, 80);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;
}

/**
 * Turns every `<!…>` special mention (`<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>`) in
 * trusted mrkdwn into visible text; date formatting (`<!date^…>`) stays.
 */
export function neutraliseBroadcasts(mrkdwn: string): string {
  return mrkdwn.replace(/<!(?!date\^)([^>]*)>/g, (_, inner: string) => `&lt;!${inner}&gt;`);
}

/**
 * Cuts trusted mrkdwn to `max` characters without leaving half a `<…>` token, half an `&…;` escape or
 * half a surrogate pair.
 */
export function clipMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  const amp = cut.lastIndexOf('&');
  if (amp >= 0 && amp > cut.lastIndexOf(';') && cut.length - amp < 6) cut = cut.slice(0, amp);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Cuts plain (non-mrkdwn) text, e.g. for a header or button, to `max` characters. */
export function clipPlain(text: string, max: number): string {
  const clean = cleanText(text).replace(/\s*[\r\n]+\s*/g, ' ');
  if (clean.length <= max) return clean;
  let cut = clean.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
