/** The little XML the Query protocol (IAM, STS) needs, written by hand. */

/** A value rendered as XML: structures become elements, lists become `<member>` items. */
export type XmlValue =
  | string
  | number
  | boolean
  | Date
  | undefined
  | readonly XmlValue[]
  | { readonly [name: string]: XmlValue };

/** Escapes text and attribute content. */
const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** Renders the children of an element; `undefined` members are left out, as AWS omits absent fields. */
const toXml = (value: XmlValue): string => {
  if (value === undefined) return '';
  if (typeof value === 'string') return escapeXml(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return (value as readonly XmlValue[]).map((item) => `<member>${toXml(item)}</member>`).join('');
  return Object.entries(value as { readonly [name: string]: XmlValue })
    .filter(([, child]) => child !== undefined)
    .map(([name, child]) => `<${name}>${toXml(child)}</${name}>`)
    .join('');
};

/** `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…` as the Query protocol answers. */
export const queryResponse = (action: string, xmlns: string, result: XmlValue, requestId: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${escapeXml(xmlns)}">` +
  `<${action}Result>${toXml(result)}</${action}Result>` +
  `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>`;

/** `<ErrorResponse>` as IAM and STS answer errors: the SDK reads `Error.Code` and `Error.Message`. */
export const queryError = (code: string, message: string, status: number, requestId: string, xmlns: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${escapeXml(xmlns)}">` +
  `<Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
  `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`;
