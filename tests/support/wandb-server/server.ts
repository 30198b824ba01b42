import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the contract server can do instead of answering normally. `operation` is a GraphQL operation name
 * (`Viewer`, `UpsertBucket`) or `file_stream`; each match uses one of `times` (default: every request).
 */
export interface WandbFault {
  operation: 'Viewer' | 'UpsertBucket' | 'file_stream' | '*';
  /** Answer with this HTTP status, or `hang`: read the request and never answer. */
  answer: number | 'hang';
  times?: number;
}

/** One request as the server saw it. */
export interface WandbRequest {
  /** `Viewer`, `UpsertBucket`, `file_stream`, or `unknown`. */
  operation: string;
  method: string;
  path: string;
  status: number | 'hang';
  /** API key from the Basic authorization header (`api:<key>`), or undefined. */
  apiKey: string | undefined;
  body: unknown;
}

/** A run as W&B would store it from the calls received. */
export interface StoredRun {
  entity: string;
  project: string;
  id: string;
  displayName: string | undefined;
  config: unknown;
  tags: string[] | undefined;
  /** The sweep (`sweep`) and group (`groupName`) an UpsertBucket placed the run in. */
  sweep: string | undefined;
  group: string | undefined;
  /** wandb-history.jsonl lines by offset, parsed. */
  history: Array<Record<string, unknown>>;
  /** Latest wandb-summary.json content from file_stream. */
  streamSummary: Record<string, unknown> | undefined;
  /** Latest summaryMetrics from UpsertBucket. */
  summaryMetrics: Record<string, unknown> | undefined;
  complete: boolean;
  exitcode: number | undefined;
  upserts: number;
}

export interface WandbServerOptions {
  /** Keys the server accepts; anything else gets HTTP 401. Default: any key. */
  apiKeys?: string[];
  /** Entity the Viewer query reports. Default `test-entity`. */
  entity?: string;
}

/**
 * A local stand-in for the W&B API on 127.0.0.1 that speaks exactly the calls `@wandb/sdk` 0.5.1 makes (read from
 * its source: `internal/api.js`, `internal/filestream.js`): POST /graphql with the `Viewer` query (default entity)
 * and the `UpsertBucket` mutation (create/update a run: config, tags, sweep, groupName, summaryMetrics), and POST
 * /files/<entity>/<project>/<run>/file_stream with `{files: {"wandb-history.jsonl": {offset, content}, ...}}` or
 * `{complete, exitcode}`. It records what arrives and can fail on purpose (5xx, 4xx, no answer). Test support only.
 */
export class WandbServer {
  readonly requests: WandbRequest[] = [];
  readonly runs = new Map<string, StoredRun>();
  private readonly faults: Array<WandbFault & { left: number }> = [];
  private server: Server | undefined;
  private url = '';

  constructor(private readonly options: WandbServerOptions = {}) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Closes the server and every open connection, including requests it is deliberately not answering. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get baseUrl(): string {
    return this.url;
  }

  inject(fault: WandbFault): void {
    this.faults.push({ ...fault, left: fault.times ?? Number.POSITIVE_INFINITY });
  }

  /** The one run stored (most tests make one), or undefined. */
  onlyRun(): StoredRun | undefined {
    if (this.runs.size > 1) throw new Error(`expected at most one run, the server has ${this.runs.size}`);
    return [...this.runs.values()][0];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const apiKey = basicKey(req.headers.authorization);
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch {
      body = raw.toString('utf8');
    }
    const stream = /^\/files\/([^/]+)\/([^/]+)\/([^/]+)\/file_stream$/.exec(path);
    const operation =
      req.method === 'POST' && path === '/graphql'
        ? operationName(body)
        : req.method === 'POST' && stream
          ? 'file_stream'
          : 'unknown';
    const logged: WandbRequest = { operation, method: req.method ?? '', path, status: 0, apiKey, body };
    this.requests.push(logged);

    const fault = this.faults.find((f) => f.left > 0 && (f.operation === '*' || f.operation === operation));
    if (fault) {
      fault.left -= 1;
      logged.status = fault.answer;
      if (fault.answer === 'hang') return; // never answered; stop() destroys the socket
      reply(res, fault.answer, { errors: [{ message: `injected HTTP ${fault.answer}` }] });
      return;
    }
    if (this.options.apiKeys && (!apiKey || !this.options.apiKeys.includes(apiKey))) {
      logged.status = 401;
      reply(res, 401, { errors: [{ message: 'user is not logged in' }] });
      return;
    }
    logged.status = 200;
    if (operation === 'Viewer') {
      reply(res, 200, {
        data: {
          viewer: {
            id: 'VXNlcjox',
            entity: this.options.entity ?? 'test-entity',
            flags: null,
            teams: { edges: [] },
          },
        },
      });
    } else if (operation === 'UpsertBucket') {
      reply(res, 200, { data: { upsertBucket: this.upsert(body as GraphqlBody) } });
    } else if (operation === 'file_stream' && stream) {
      this.fileStream(
        decodeURIComponent(stream[1]!),
        decodeURIComponent(stream[2]!),
        decodeURIComponent(stream[3]!),
        body,
      );
      reply(res, 200, { exitcode: null, limits: {} });
    } else {
      logged.status = 404;
      reply(res, 404, { error: `the contract server does not implement ${req.method} ${path}` });
    }
  }

  private upsert(body: GraphqlBody) {
    const v = body.variables ?? {};
    const entity = str(v.entity) || (this.options.entity ?? 'test-entity');
    const project = str(v.project) || 'uncategorized';
    const id = str(v.name) || str(v.id);
    const key = `${entity}/${project}/${id}`;
    let run = this.runs.get(key);
    const inserted = !run;
    if (!run) {
      run = {
        entity,
        project,
        id,
        displayName: undefined,
        config: undefined,
        tags: undefined,
        sweep: undefined,
        group: undefined,
        history: [],
        streamSummary: undefined,
        summaryMetrics: undefined,
        complete: false,
        exitcode: undefined,
        upserts: 0,
      };
      this.runs.set(key, run);
    }
    run.upserts += 1;
    if (typeof v.displayName === 'string') run.displayName = v.displayName;
    if (typeof v.config === 'string') run.config = JSON.parse(v.config);
    if (Array.isArray(v.tags)) run.tags = v.tags as string[];
    if (typeof v.sweep === 'string') run.sweep = v.sweep;
    if (typeof v.groupName === 'string') run.group = v.groupName;
    if (typeof v.summaryMetrics === 'string') run.summaryMetrics = JSON.parse(v.summaryMetrics);
    return {
      bucket: {
        id: Buffer.from(`Run:${key}`).toString('base64'),
        name: id,
        displayName: run.displayName ?? id,
        description: null,
        config: JSON.stringify(run.config ?? {}),
        sweepName: run.sweep ?? null,
        project: { id: 'UHJvamVjdDox', name: project, entity: { id: 'RW50aXR5OjE=', name: entity } },
      },
      inserted,
    };
  }

  private fileStream(entity: string, project: string, id: string, body: unknown): void {
    const run = this.runs.get(`${entity}/${project}/${id}`);
    if (!run) throw new Error(`file_stream for unknown run ${entity}/${project}/${id}`);
    const payload = body as {
      files?: Record<string, { offset: number; content: string[] }>;
      complete?: boolean;
      exitcode?: number;
    };
    const history = payload.files?.['wandb-history.jsonl'];
    if (history) {
      history.content.forEach((line, i) => {
        run.history[history.offset + i] = JSON.parse(line) as Record<string, unknown>;
      });
    }
    const summary = payload.files?.['wandb-summary.json']?.content.at(-1);
    if (summary) run.streamSummary = JSON.parse(summary) as Record<string, unknown>;
    if (payload.complete) {
      run.complete = true;
      run.exitcode = payload.exitcode;
    }
  }
}

interface GraphqlBody {
  query?: string;
  operationName?: string;
  variables?: Record<string, unknown>;
}

/** graphql-request sends the operation name when the document has one; fall back to the query text. */
function operationName(body: unknown): string {
  const b = body as GraphqlBody | undefined;
  if (typeof b?.operationName === 'string' && b.operationName) return b.operationName;
  const match = /^\s*(?:query|mutation)\s+(\w+)/.exec(b?.query ?? '');
  return match?.[1] ?? 'unknown';
}

function basicKey(header: string | undefined): string | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  return decoded.startsWith('api:') ? decoded.slice(4) : undefined;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
