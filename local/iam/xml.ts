import { xmlEscape } from '../http-util';

/** The XML namespace every IAM Query API response carries. */
export const IAM_XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';

/**
 * A value that renders as an XML element body. Arrays render as IAM lists (`<Name><member>…</member></Name>`),
 * objects as nested elements, `undefined` members are left out.
 */
export type XmlValue = string | number | boolean | Date | undefined | readonly XmlValue[] | XmlObject;
export interface XmlObject {
  readonly [key: string]: XmlValue;
}

/** IAM's timestamp format: ISO 8601 in UTC, whole seconds (`2024-05-01T12:00:00Z`). */
export function formatIamDate(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function renderBody(value: Exclude<XmlValue, undefined>): string {
  if (value instanceof Date) return formatIamDate(value);
  if (typeof value === 'string') return xmlEscape(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isXmlList(value)) {
    return value
      .filter((item): item is Exclude<XmlValue, undefined> => item !== undefined)
      .map((item) => `<member>${renderBody(item)}</member>`)
      .join('');
  }
  return renderChildren(value);
}

function isXmlList(value: Exclude<XmlValue, undefined>): value is readonly XmlValue[] {
  return Array.isArray(value);
}

function renderChildren(object: XmlObject): string {
  return Object.entries(object)
    .map(([name, child]) => renderElement(name, child))
    .join('');
}

/** Renders one element; `undefined` renders nothing and empty bodies render as `<Name/>`. */
export function renderElement(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  const body = renderBody(value);
  return body === '' ? `<${name}/>` : `<${name}>${body}</${name}>`;
}

/** `<ActionResponse>` with an optional `<ActionResult>` and the request id, as IAM returns it. */
export function successXml(action: string, result: XmlObject | undefined, requestId: string): string {
  const resultXml = result === undefined ? '' : renderElement(`${action}Result`, result);
  return (
    `<${action}Response xmlns="${IAM_XMLNS}">${resultXml}` +
    `<ResponseMetadata><RequestId>${xmlEscape(requestId)}</RequestId></ResponseMetadata>` +
    `</${action}Response>`
  );
}

/** IAM's `<ErrorResponse>` envelope. */
export function errorXml(type: string, code: string, message: string, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${IAM_XMLNS}"><Error><Type>${xmlEscape(type)}</Type>` +
    `<Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error>` +
    `<RequestId>${xmlEscape(requestId)}</RequestId></ErrorResponse>`
  );
}

/**
 * URL-encodes a policy document the way IAM returns it (RFC 3986): everything but unreserved characters is
 * percent-encoded, including the `!'()*` that `encodeURIComponent` leaves alone.
 */
export function encodePolicyDocument(document: string): string {
  return encodeURIComponent(document).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
