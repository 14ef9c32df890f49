import { documentsEqual } from '../../src/domain/document-equality';

const policy = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: 'arn:aws:s3:::b/100%/*' },
  ],
};
const compact = JSON.stringify(policy);
const iamEncode = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

describe('documentsEqual', () => {
  test.each([
    ['the same text', compact, compact],
    ['pretty and compact text', JSON.stringify(policy, null, 2), compact],
    ['text and its URL encoding', compact, iamEncode(JSON.stringify(policy, null, 4))],
    ['an object and its text', policy, JSON.stringify(policy, null, 1)],
    ['keys in another order', '{"a":1,"b":[1,2]}', '{"b":[1,2],"a":1}'],
    ['a __proto__ key on both sides', '{"__proto__":{"x":1}}', '{ "__proto__" : { "x" : 1 } }'],
  ])('%s are equal', (_label, a, b) => {
    expect(documentsEqual(a, b)).toBe(true);
    expect(documentsEqual(b, a)).toBe(true);
  });

  test.each([
    ['lists in another order', '{"a":[1,2]}', '{"a":[2,1]}'],
    ['a raw "%41" and an "A" (raw JSON is never URL-decoded)', '{"a":"%41"}', '{"a":"A"}'],
    ['a __proto__ key and no key', '{"__proto__":{"x":1}}', '{}'],
    ['a key more', '{"a":1}', '{"a":1,"b":null}'],
    ['a string and a number', '{"a":"1"}', '{"a":1}'],
  ])('%s are not equal', (_label, a, b) => {
    expect(documentsEqual(a, b)).toBe(false);
  });

  test.each([
    ['a duplicate key', '{"a":1,"a":1}'],
    ['a duplicate key deep down', '{"Statement":[{"Condition":{"Bool":{"k":"true","k":"true"}}}]}'],
    ['a byte order mark', '\uFEFF{"a":1}'],
    ['a no-break space', '{"a":1}\u00A0'],
    ['an invalid percent-escape', '%7B%22a%22%3A1%ZZ'],
    ['a raw "+" in an encoded document', '%7B%22a%22%3A%22x+y%22%7D'],
    ['nesting beyond the limit', `${'['.repeat(40)}${']'.repeat(40)}`],
    ['a number beyond a double', '{"a":1e400}'],
    ['not JSON', '{"a":'],
  ])('a document with %s is equal to nothing, not even itself', (_label, text) => {
    expect(documentsEqual(text, text)).toBe(false);
    expect(documentsEqual(text, {})).toBe(false);
  });

  test.each([
    ['undefined', { a: undefined }],
    ['a function', { a: () => 1 }],
    ['a Date', { a: new Date(0) }],
    ['NaN', { a: Number.NaN }],
  ])('an object holding %s is equal to nothing', (_label, value) => {
    expect(documentsEqual(value, value)).toBe(false);
  });
});
