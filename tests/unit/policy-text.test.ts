import { decodePolicyText } from '../../src/domain/policy-text';
import { PolicyParseError } from '../../src/errors';

const document = JSON.stringify(
  {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 's3:GetObject', Resource: "arn:aws:s3:::b/100% q1 & q2+(draft)*!'/é/*" },
    ],
  },
  null,
  2,
);
/** IAM's encoding: RFC 3986, so also the `!'()*` that encodeURIComponent leaves alone. */
const iamEncode = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function rejection(text: string): PolicyParseError {
  let caught: unknown;
  try {
    decodePolicyText(text);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PolicyParseError);
  return caught as PolicyParseError;
}

describe('decodePolicyText', () => {
  test.each([
    ['IAM-encoded (RFC 3986)', iamEncode(document)],
    ['encodeURIComponent-encoded', encodeURIComponent(document)],
    ['lower-case escapes', iamEncode(document).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
  ])('decodes a document %s', (_label, encoded) => {
    // Act
    const decoded = decodePolicyText(encoded);
    // Assess
    expect(decoded).toBe(document);
  });

  test('drops the JSON white space around an encoded document (a file saved with a final line feed)', () => {
    expect(decodePolicyText(`\r\n ${iamEncode(document)}\n`)).toBe(document);
  });

  test.each([
    ['JSON as written', document],
    ['JSON holding "%" and escapes that would decode', '{"Resource":"arn:aws:s3:::b/%41%7B%ZZ%"}'],
    ['JSON after white space', ' \t\r\n{"a":"%20"}\n'],
    ['a JSON list', '[ "%41" ]'],
    ['text without "%"', '42'],
    ['an empty string', ''],
    ['only white space', ' \n\t'],
    ['text with characters percent-encoding never leaves raw', '"100%"'],
    ['text after a byte order mark (for the parser to refuse)', '\uFEFF{"a":"%41"}'],
    ['text after a no-break space (for the parser to refuse)', '\u00A0%7B%7D'],
  ])('returns %s unchanged', (_label, text) => {
    expect(decodePolicyText(text)).toBe(text);
  });

  test.each([
    ['an invalid escape', '%7B%ZZ', /invalid escape sequence at offset 3 \("%ZZ"\)/],
    ['a "%" at the end', '%7B%7D%', /invalid escape sequence at offset 6/],
    ['a truncated escape', '%7B%7', /invalid escape sequence at offset 3/],
    ['a truncated UTF-8 sequence', '%7B%22%E0%A4%22%7D', /not valid UTF-8/],
    ['an overlong UTF-8 sequence', '%7B%22%C0%AF%22%7D', /not valid UTF-8/],
    ['an encoded surrogate', '%7B%22%ED%A0%80%22%7D', /not valid UTF-8/],
    ['a raw "+"', '%7B%22a+b%22%7D', /raw "\+" at offset 7/],
  ])('refuses an encoded document with %s', (_label, text, message) => {
    expect(rejection(text).message).toMatch(message);
  });

  test('refuses an encoded document longer than any policy can be, without decoding it', () => {
    expect(rejection('%20'.repeat(1_100_000)).message).toMatch(/too large/);
  });
});
