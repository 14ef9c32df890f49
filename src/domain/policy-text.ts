/**
 * The two textual forms a policy document arrives in: JSON as written, or JSON URL-encoded (RFC 3986)
 * as IAM's `GetPolicyVersion`, `GetRolePolicy`, `GetAccountAuthorizationDetails` return it. Emulators
 * (moto, LocalStack) return some documents raw, so the form is recognised, never assumed.
 */
import { PolicyParseError } from '../errors';
import { DEFAULT_JSON_LIMITS, isJsonWhiteSpace } from './json-strict';

/**
 * What RFC 3986 percent-encoding can produce: unreserved and reserved characters, and `%` escapes.
 * `+` is left out on purpose (see {@link decodePolicyText}).
 */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*,;=%]*$/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** Percent-encoding triples a character at most; anything longer decodes beyond the JSON limit anyway. */
const MAX_ENCODED_LENGTH = DEFAULT_JSON_LIMITS.maxLength * 3;

/**
 * Returns the JSON text of a policy document given either as JSON or as URL-encoded JSON.
 *
 * - JSON as written (after JSON white space only, it starts with `{` or `[`; an encoded document never
 *   does, since those are `%7B` / `%5B`) comes back exactly as given, `%` and all.
 * - Text made only of RFC 3986 characters and holding a `%` is URL-encoded: its `%XX` escapes are
 *   decoded (as UTF-8) and the JSON white space around it dropped.
 * - Anything else (text without `%`, or with characters percent-encoding never leaves raw) is returned
 *   unchanged, for the JSON parser to read or to report what is wrong with it.
 *
 * Never guesses: text is decoded at most once, and raw JSON is never decoded, so no document is ever
 * altered on its way to the parser.
 *
 * Throws {@link PolicyParseError} for an encoded document with an invalid escape (`%ZZ`, a lone `%`, or
 * escapes that are not UTF-8), with a raw `+` (RFC 3986 decoders read it as `+`, form decoders such as
 * the `java.net.URLDecoder` AWS's documentation suggests read it as a space, so the document has two
 * readings), or longer than any policy can be.
 */
export function decodePolicyText(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isJsonWhiteSpace(text.charCodeAt(start))) start++;
  if (start === end) return text;
  const first = text.charCodeAt(start);
  if (first === 0x7b || first === 0x5b) return text;
  while (end > start && isJsonWhiteSpace(text.charCodeAt(end - 1))) end--;
  const body = start === 0 && end === text.length ? text : text.slice(start, end);
  // Without a `%` there is nothing to decode: every decoder returns such text as it is (but for `+`,
  // which only matters in a document that is encoded, and every encoded document has `%7B`).
  if (!body.includes('%')) return text;
  if (body.length > MAX_ENCODED_LENGTH) {
    throw new PolicyParseError('', `policy document is too large (${body.length} characters)`);
  }
  const plus = body.indexOf('+');
  if (plus !== -1 && URI_CHARACTERS.test(body.replaceAll('+', ''))) {
    throw new PolicyParseError(
      '',
      `URL-encoded policy document has a raw "+" at offset ${start + plus}: RFC 3986 reads it as "+", form decoding as a space`,
    );
  }
  if (!URI_CHARACTERS.test(body)) return text;
  const malformed = MALFORMED_ESCAPE.exec(body);
  if (malformed) {
    throw new PolicyParseError(
      '',
      `URL-encoded policy document has an invalid escape sequence at offset ${start + malformed.index} (${JSON.stringify(body.slice(malformed.index, malformed.index + 3))})`,
    );
  }
  try {
    return decodeURIComponent(body);
  } catch (cause) {
    throw new PolicyParseError('', 'URL-encoded policy document has escapes that are not valid UTF-8', {
      cause,
    });
  }
}
