import { createHash } from 'node:crypto';

/** A message attribute as SQS stores it: a string value for String/Number types, bytes for Binary ones. */
export interface SqsAttributeValue {
  dataType: string;
  stringValue?: string;
  binaryValue?: Buffer;
}

/** The MD5 SQS returns as `MD5OfMessageBody`/`MD5OfBody`: hex MD5 of the body's UTF-8 bytes. */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

/**
 * `MD5OfMessageAttributes` exactly as SQS computes it ("Calculating the MD5 message digest for message
 * attributes" in the SQS developer guide): attributes sorted by name; for each, the name, the data type and the
 * value, each as a 4-byte big-endian length followed by its bytes, with a one-byte transport type (1 for String
 * and Number, 2 for Binary) before the value. Undefined when there are no attributes, as SQS then omits it.
 */
export function md5OfMessageAttributes(
  attributes: Readonly<Record<string, SqsAttributeValue>>,
): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  for (const name of names) {
    const attribute = attributes[name] as SqsAttributeValue;
    hash.update(lengthPrefixed(Buffer.from(name, 'utf8')));
    hash.update(lengthPrefixed(Buffer.from(attribute.dataType, 'utf8')));
    if (attribute.dataType.startsWith('Binary')) {
      hash.update(Buffer.from([2]));
      hash.update(lengthPrefixed(attribute.binaryValue ?? Buffer.alloc(0)));
    } else {
      hash.update(Buffer.from([1]));
      hash.update(lengthPrefixed(Buffer.from(attribute.stringValue ?? '', 'utf8')));
    }
  }
  return hash.digest('hex');
}
