/** One part of a multipart/related body (the GCS multipart upload: JSON metadata, then the media). */
export interface RelatedPart {
  contentType: string | undefined;
  body: Buffer;
}

export function parseMultipartRelated(contentType: string, body: Buffer): RelatedPart[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return [];
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: RelatedPart[] = [];
  let cursor = body.indexOf(delimiter);
  while (cursor >= 0) {
    const start = cursor + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const raw = body.subarray(start, next);
    const headerEnd = raw.indexOf('\r\n\r\n');
    const headers = raw.subarray(0, headerEnd).toString('utf8');
    // The part body ends with the CRLF that precedes the next delimiter.
    const content = raw.subarray(headerEnd + 4, raw.length - 2);
    parts.push({ contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim(), body: content });
    cursor = next;
  }
  return parts;
}
