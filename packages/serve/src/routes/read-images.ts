import type { FastifyRequest } from 'fastify';
import { badRequest, HttpError } from '../errors.ts';

/** Raw image bodies the service takes (the file's content decides the decoder; see ACCEPTED_FORMATS). */
export const IMAGE_CONTENT_TYPES = ['image/png', 'image/jpeg', 'image/jpg', 'image/webp'];

export interface UploadedImage {
  bytes: Buffer;
  filename: string | null;
}

export interface ReadImagesOptions {
  /** Multipart field names that carry images. */
  fields: readonly string[];
  /** Most images accepted. */
  maxFiles: number;
  /** Most bytes over all images of the request. */
  bodyLimitBytes: number;
}

const MAX_FORM_FIELDS = 16;
const MAX_FIELD_BYTES = 4096;

/**
 * The images of a prediction request: the file parts of a multipart/form-data body (streamed, each and all
 * together within the body limit), or a raw image body. Every malformed or missing upload is a 4xx naming it.
 */
export async function readImages(
  request: FastifyRequest,
  options: ReadImagesOptions,
): Promise<UploadedImage[]> {
  if (request.isMultipart()) return readMultipart(request, options);
  const body = request.body;
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) throw emptyBody();
    return [{ bytes: body, filename: null }];
  }
  const contentType = request.headers['content-type'];
  if (!contentType) {
    if (body === undefined || body === null) throw emptyBody();
    throw unsupportedType('no Content-Type header');
  }
  throw unsupportedType(`Content-Type ${contentType.split(';')[0]}`);
}

async function readMultipart(request: FastifyRequest, options: ReadImagesOptions): Promise<UploadedImage[]> {
  const { fields, maxFiles, bodyLimitBytes } = options;
  const images: UploadedImage[] = [];
  const otherFiles: string[] = [];
  let total = 0;
  try {
    const parts = request.parts({
      limits: {
        fileSize: bodyLimitBytes,
        // One more than allowed, so that "too many files" is our clear 400 rather than a silent truncation.
        files: maxFiles + 1,
        fields: MAX_FORM_FIELDS,
        fieldSize: MAX_FIELD_BYTES,
        parts: maxFiles + 1 + MAX_FORM_FIELDS,
      },
    });
    for await (const part of parts) {
      if (part.type !== 'file') continue;
      if (!fields.includes(part.fieldname)) {
        otherFiles.push(part.fieldname);
        part.file.resume();
        continue;
      }
      if (images.length === maxFiles) {
        throw badRequest(
          'MULTIPART_TOO_MANY_FILES',
          maxFiles === 1
            ? `the form has more than one file in field \`${fields[0]}\`; this route classifies one image`
            : `the form has more than ${maxFiles} image files`,
          {
            hint:
              maxFiles === 1
                ? 'send one file per request, or several to POST /predict/batch'
                : `send at most ${maxFiles} images per request (MAX_BATCH)`,
          },
        );
      }
      const bytes = await part.toBuffer();
      total += bytes.length;
      if (total > bodyLimitBytes) {
        throw new HttpError(
          413,
          'BODY_TOO_LARGE',
          `the images of this request total more than ${bodyLimitBytes} bytes`,
          {
            hint: 'send fewer or smaller images (the limit is BODY_LIMIT_BYTES)',
          },
        );
      }
      images.push({ bytes, filename: part.filename || null });
    }
  } catch (error) {
    if (error instanceof HttpError || isClientError(error)) throw error;
    throw badRequest(
      'MULTIPART_MALFORMED',
      `the multipart body cannot be read: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'send a well-formed multipart/form-data body (curl -F file=@image.png ...)',
      },
    );
  }
  if (images.length === 0) {
    throw badRequest(
      'MULTIPART_NO_FILE',
      otherFiles.length > 0
        ? `the form has no file in field \`${fields[0]}\` (found files in: ${otherFiles.join(', ')})`
        : `the form has no file in field \`${fields[0]}\``,
      { hint: `send the image as the form field \`${fields[0]}\`: curl -F ${fields[0]}=@image.png ...` },
    );
  }
  return images;
}

function isClientError(error: unknown): boolean {
  const status = (error as { statusCode?: number }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function emptyBody(): HttpError {
  return badRequest('EMPTY_BODY', 'the request has no image (empty body)', {
    hint: 'send the image as multipart form field `file` or as the raw body with an image Content-Type',
  });
}

function unsupportedType(found: string): HttpError {
  return new HttpError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `the request has ${found}; expected multipart/form-data or ${IMAGE_CONTENT_TYPES.filter((t) => t !== 'image/jpg').join(', ')}`,
    { hint: 'curl -F file=@image.png <url>, or --data-binary @image.png -H "Content-Type: image/png"' },
  );
}
