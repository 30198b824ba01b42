import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { OpenAPIV3 } from 'openapi-types';

const IMAGE_BODY: OpenAPIV3.MediaTypeObject = { schema: { type: 'string', format: 'binary' } };

/**
 * GET /docs (Swagger UI) and GET /docs/json (OpenAPI 3). Parameters and responses come from the routes' zod schemas;
 * the image bodies, which JSON Schema cannot express, are described here.
 */
export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'tfjs-mlops inference service',
        description:
          'Image classification from a verified model bundle. Send an image to POST /predict; see GET /model for the labels.',
        version,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: (documents) =>
      withoutUnusedSchemas(describeImageBodies(jsonSchemaTransformObject(documents))),
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // Swagger UI's CSP asks browsers to upgrade http to https, which breaks the page on plain-http local servers,
    // and its style hashes miss a style Swagger UI sets at run time; styles cannot run code, scripts stay hashed.
    transformStaticCSP: (header) =>
      header
        .replace(/\s*upgrade-insecure-requests;?/, '')
        .replace(/style-src [^;]*/, "style-src 'self' 'unsafe-inline'"),
  });
}

function describeImageBodies(document: ReturnType<typeof jsonSchemaTransformObject>) {
  const paths = (document as OpenAPIV3.Document).paths ?? {};
  const single = paths['/predict']?.post;
  if (single) {
    single.requestBody = {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['file'],
            properties: { file: { type: 'string', format: 'binary' } },
          },
        },
        'image/png': IMAGE_BODY,
        'image/jpeg': IMAGE_BODY,
        'image/webp': IMAGE_BODY,
      },
    };
  }
  const batch = paths['/predict/batch']?.post;
  if (batch) {
    batch.requestBody = {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['file'],
            properties: { file: { type: 'array', items: { type: 'string', format: 'binary' } } },
          },
        },
      },
    };
  }
  return document;
}

/**
 * The zod provider registers every named schema twice (an input and an output variant); responses use the output
 * ones, so the `...Input` copies nobody references are dropped from the document.
 */
function withoutUnusedSchemas<T>(document: T): T {
  const schemas = (document as OpenAPIV3.Document).components?.schemas;
  if (!schemas) return document;
  // Repeat until nothing is dropped: removing one copy can orphan the copies it referenced.
  for (let dropped = true; dropped; ) {
    dropped = false;
    for (const name of Object.keys(schemas)) {
      if (!name.endsWith('Input')) continue;
      const { [name]: _self, ...rest } = schemas;
      const text = JSON.stringify({ ...(document as OpenAPIV3.Document), components: { schemas: rest } });
      if (text.includes(`"#/components/schemas/${name}"`)) continue;
      delete schemas[name];
      dropped = true;
    }
  }
  return document;
}
