import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Test support only (product code never imports it): a tiny HTTP file server on 127.0.0.1 whose files can
 * misbehave the ways real mirrors do — drop the connection midway, ignore `Range:`, fail with 5xx a few times.
 */
export interface ServedFile {
  body: Buffer;
  /** Answer `Range: bytes=N-` with 206 + Content-Range (default true); false answers 200 with the whole file. */
  range?: boolean;
  /** The first `times` responses send headers for the whole body, then `bytes` bytes, then cut the socket. */
  dropAfter?: { bytes: number; times: number };
  /** The first `times` responses send `bytes` bytes and then nothing more, keeping the connection open. */
  stallAfter?: { bytes: number; times: number };
  /** The first `times` requests get this status (e.g. 503) and no body. */
  failWith?: { status: number; times: number };
}

export interface LoggedRequest {
  path: string;
  range: string | undefined;
  status: number;
}

export class TestFileServer {
  readonly requests: LoggedRequest[] = [];
  private readonly files = new Map<string, ServedFile>();
  private server: Server | undefined;
  private base = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  /** Serves `file` at `path` (which starts with `/`); returns its full URL. */
  serve(path: string, file: ServedFile): string {
    // Copies, because the counters count down as requests come in.
    this.files.set(path, {
      ...file,
      dropAfter: file.dropAfter && { ...file.dropAfter },
      stallAfter: file.stallAfter && { ...file.stallAfter },
      failWith: file.failWith && { ...file.failWith },
    });
    return `${this.base}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.base).pathname;
    const range = req.headers.range;
    const file = this.files.get(path);
    const log = (status: number) => this.requests.push({ path, range, status });
    if (!file) {
      log(404);
      res.writeHead(404).end('not found');
      return;
    }
    if (file.failWith && file.failWith.times > 0) {
      file.failWith.times -= 1;
      log(file.failWith.status);
      res.writeHead(file.failWith.status).end();
      return;
    }
    let start = 0;
    const match = range === undefined ? null : /^bytes=(\d+)-$/.exec(range);
    if (match && file.range !== false) start = Number(match[1]);
    if (start >= file.body.length && start > 0) {
      log(416);
      res.writeHead(416, { 'content-range': `bytes */${file.body.length}` }).end();
      return;
    }
    const body = file.body.subarray(start);
    const status = start > 0 ? 206 : 200;
    log(status);
    const headers: Record<string, string | number> = {
      'content-length': body.length,
      'content-type': 'application/octet-stream',
    };
    if (file.range !== false) headers['accept-ranges'] = 'bytes';
    if (status === 206)
      headers['content-range'] = `bytes ${start}-${file.body.length - 1}/${file.body.length}`;
    res.writeHead(status, headers);
    if (file.dropAfter && file.dropAfter.times > 0) {
      file.dropAfter.times -= 1;
      res.write(body.subarray(0, file.dropAfter.bytes), () => {
        // Give the bytes a moment on the wire, then cut the connection as a flaky network would.
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    if (file.stallAfter && file.stallAfter.times > 0) {
      file.stallAfter.times -= 1;
      res.write(body.subarray(0, file.stallAfter.bytes));
      return;
    }
    res.end(body);
  }
}
