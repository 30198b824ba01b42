// dockerfiles/install-native.sh against a local mirror: the documented variables (TFJS_NODE_BASE_URI,
// TFJS_NODE_CDN_STORAGE, npm_config_tfjs_binding_binary_host_mirror) redirect both downloads of tfjs-node's install
// script, and a binding that downloads but does not load stops a required build and not an optional one. The mirror
// serves stand-in tarballs (libtensorflow is 400 MB and not reachable here), which is exactly the "installed but
// does not load" case. The package is a copy of the installed tfjs-node (the install script writes into it), with
// its dependencies linked.
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, which } from './repo.ts';

const run = promisify(execFile);
const SCRIPT = join(ROOT, 'dockerfiles', 'install-native.sh');
const TAR = which('tar');
if (!TAR) process.stderr.write('install-native.test.ts: SKIPPED: no `tar` to build the mirror tarballs\n');

let dir: string;
let server: Server;
let mirror: string;
const requests: string[] = [];

/** A workspace where @tensorflow/tfjs-node resolves to a fresh copy whose dependencies resolve as installed. */
function workspaceWithTfjsNode(root: string): string {
  const installed = realpathSync(
    join(ROOT, 'packages', 'runtime', 'node_modules', '@tensorflow', 'tfjs-node'),
  );
  const siblings = dirname(dirname(installed)); // .pnpm/<pkg>/node_modules: the package and its dependencies
  const modules = join(root, 'node_modules');
  mkdirSync(join(modules, '@tensorflow'), { recursive: true });
  for (const entry of readdirSync(siblings)) {
    if (entry === '@tensorflow') continue;
    symlinkSync(join(siblings, entry), join(modules, entry));
  }
  for (const entry of readdirSync(join(siblings, '@tensorflow'))) {
    if (entry !== 'tfjs-node')
      symlinkSync(join(siblings, '@tensorflow', entry), join(modules, '@tensorflow', entry));
  }
  cpSync(installed, join(modules, '@tensorflow', 'tfjs-node'), {
    recursive: true,
    filter: (src) => !/[/\\](deps|lib|build)$/.test(src),
  });
  return root;
}

async function tarball(name: string, files: Record<string, string>): Promise<Buffer> {
  const src = mkdtempSync(join(dir, 'tar-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), content);
  }
  const out = join(dir, name);
  const tops = new Set(Object.keys(files).map((f) => f.split('/')[0]!));
  await run(TAR!, ['-czf', out, '-C', src, ...tops]);
  return readFileSync(out);
}

beforeAll(async () => {
  if (!TAR) return;
  dir = mkdtempSync(join(tmpdir(), 'install-native-'));
  const libtensorflow = await tarball('libtensorflow.tar.gz', {
    'lib/libtensorflow.so.2': 'not a shared library',
    'lib/libtensorflow_framework.so.2': 'not a shared library',
    'include/tensorflow/c/c_api.h': '',
  });
  const addon = await tarball('addon.tar.gz', { 'napi-v8/tfjs_binding.node': 'not an addon' });
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = req.url?.includes('libtensorflow-cpu-linux')
      ? libtensorflow
      : req.url?.includes('CPU-linux')
        ? addon
        : undefined;
    if (!body) {
      res.writeHead(404).end('not here');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  mirror = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function installNative(policy: 'required' | 'optional', env: Record<string, string>) {
  const workspace = workspaceWithTfjsNode(mkdtempSync(join(dir, 'ws-')));
  requests.length = 0;
  return run('sh', [SCRIPT, 'cpu', policy, workspace], {
    env: { PATH: process.env.PATH, HOME: dir, ...env },
    timeout: 60_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      output: error.stdout + error.stderr,
    }),
  );
}

describe.skipIf(!TAR)('install-native.sh behind a mirror', () => {
  it('fetches libtensorflow from TFJS_NODE_BASE_URI and the addon from the binding mirror, then stops a required build whose binding does not load', async () => {
    const result = await installNative('required', {
      TFJS_NODE_BASE_URI: `${mirror}/libtensorflow-`,
      npm_config_tfjs_binding_binary_host_mirror: `${mirror}/pre-built-binary/`,
    });
    expect(requests, result.output).toEqual([
      '/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz',
      expect.stringMatching(/^\/pre-built-binary\/napi-v\d+\/4\.22\.0\/CPU-linux-4\.22\.0\.tar\.gz$/),
    ]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(
      /install-native: @tensorflow\/tfjs-node: installed but does not load: \w*Error/,
    );
    expect(result.output).toContain('the build stops here rather than ship an image without it');
  });

  it('takes libtensorflow from <TFJS_NODE_CDN_STORAGE>tensorflow/libtensorflow/, and lets an optional build continue on wasm', async () => {
    const result = await installNative('optional', {
      TFJS_NODE_CDN_STORAGE: `${mirror}/`,
      npm_config_tfjs_binding_binary_host_mirror: `${mirror}/pre-built-binary/`,
    });
    expect(requests[0], result.output).toBe(
      '/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz',
    );
    expect(result.code).toBe(0);
    expect(result.output).toContain('installed but does not load');
    expect(result.output).toContain('continuing: the image runs on the wasm backend');
  });

  it('does nothing for NATIVE=none and rejects an unknown NATIVE', async () => {
    const none = await run('sh', [SCRIPT, 'none', 'required', dir]);
    expect(none.stdout).toContain('no native TF.js package; the image runs on the wasm backend');
    const bad = await run('sh', [SCRIPT, 'cuda', 'required', dir]).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("NATIVE must be gpu, cpu or none, not 'cuda'");
  });
});
