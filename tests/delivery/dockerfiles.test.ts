// The two Dockerfiles, parsed (dockerfile-ast): what they copy exists and reaches the build context, their entry
// points exist, the trainer sits on a CUDA 11.2 / cuDNN 8 glibc base, the API runs as non-root on the port it exposes.
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTFILE, workerOutfiles } from '../../packages/serve/scripts/build.ts';
import { copyFrom, dockerIgnored, execForm, lastInstruction, readDockerfile } from './dockerfile.ts';
import { ROOT, readRepoFile, repoFiles } from './repo.ts';

const DOCKERFILES = ['dockerfiles/trainer.dockerfile', 'dockerfiles/api.dockerfile'];
const WORKSPACE_MANIFESTS = repoFiles().filter((f) => /^packages\/[^/]+\/package\.json$/.test(f));

describe.each(DOCKERFILES)('%s', (path) => {
  const dockerfile = readDockerfile(path);

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const copies = dockerfile.stages.flatMap((stage) => dockerfile.contextCopies(stage));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      for (const source of copy.sources) {
        const where = `${path}:${copy.line} COPY ${source}`;
        expect(() => statSync(join(ROOT, source)), where).not.toThrow();
        expect(dockerIgnored(source), `${where} is excluded by .dockerignore`).toBe(false);
      }
    }
  });

  it('copies --from stages that it defines', () => {
    const names = dockerfile.stages.map((s) => s.name);
    for (const stage of dockerfile.stages) {
      for (const instruction of stage.instructions) {
        const from = copyFrom(instruction);
        if (from) expect(names).toContain(from);
      }
    }
  });

  it('has an exec-form ENTRYPOINT and a HEALTHCHECK in its final stage', () => {
    const final = dockerfile.stages.at(-1)!;
    expect(execForm(lastInstruction(final, 'ENTRYPOINT')!)).toBeDefined();
    expect(execForm(lastInstruction(final, 'HEALTHCHECK')!)).toBeDefined();
  });
});

describe('trainer.dockerfile', () => {
  const dockerfile = readDockerfile('dockerfiles/trainer.dockerfile');
  const final = dockerfile.stages.at(-1)!;

  it('builds on a glibc CUDA 11.2 + cuDNN 8 base by default (what tfjs-node-gpu 4.22 / libtensorflow 2.9.1 need)', () => {
    expect(final.image).toBe('${BASE}');
    const base = dockerfile.defaults.get('BASE')!;
    expect(base).toMatch(
      /^nvidia\/cuda:11\.2\.\d+-cudnn8-(runtime|devel)-(ubuntu\d\d\.\d\d|ubi\d|rockylinux\d|centos\d)$/,
    );
    expect(base).not.toMatch(/alpine/i);
  });

  it('runs its entrypoint script under tini, and that script is in the repository and executable', () => {
    const entrypoint = execForm(lastInstruction(final, 'ENTRYPOINT')!)!;
    expect(entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    const script = dockerfile.repoFileAt(final, entrypoint[2]!);
    expect(script).toBe('dockerfiles/trainer-entrypoint.sh');
    expect(statSync(join(ROOT, script!)).mode & 0o111).not.toBe(0);
    expect(execForm(lastInstruction(final, 'CMD')!)).toEqual([]);
  });

  it("health-checks the GPU stack through the entrypoint's `healthcheck` (pnpm run doctor)", () => {
    const check = execForm(lastInstruction(final, 'HEALTHCHECK')!)!;
    expect(dockerfile.repoFileAt(final, check[0]!)).toBe('dockerfiles/trainer-entrypoint.sh');
    expect(check[1]).toBe('healthcheck');
    expect(readRepoFile('dockerfiles/trainer-entrypoint.sh')).toContain('pnpm run --silent doctor --json');
    expect(dockerfile.repoFileAt(final, '/app/dockerfiles/trainer-healthcheck.mjs')).toBe(
      'dockerfiles/trainer-healthcheck.mjs',
    );
  });

  it('installs the lockfile with every workspace manifest in its own layer, before the sources', () => {
    const copies = dockerfile.contextCopies(final);
    const install = final.instructions.findIndex(
      (i) => i.getKeyword() === 'RUN' && /pnpm install --frozen-lockfile/.test(i.getArgumentsContent() ?? ''),
    );
    const installLine = final.instructions[install]!.getRange().start.line + 1;
    const before = copies.filter((c) => c.line < installLine).flatMap((c) => c.sources);
    expect(before).toEqual(expect.arrayContaining(['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml']));
    expect(before).toEqual(expect.arrayContaining(WORKSPACE_MANIFESTS));
    expect(before).not.toContain('packages/');
    expect(copies.find((c) => c.sources.includes('packages/'))!.line).toBeGreaterThan(installLine);
  });

  it('builds the native package the NATIVE argument names (gpu by default), and stops when that fails', () => {
    const args = final.instructions
      .filter((i) => i.getKeyword() === 'ARG')
      .map((i) => i.getArgumentsContent());
    expect(args).toContain('NATIVE=gpu');
    const native = final.instructions.find(
      (i) => i.getKeyword() === 'RUN' && /install-native/.test(i.getArgumentsContent() ?? ''),
    );
    expect(native?.getArgumentsContent()).toMatch(/^install-native "\$\{NATIVE\}" required /);
    expect(dockerfile.repoFileAt(final, '/usr/local/bin/install-native')).toBe(
      'dockerfiles/install-native.sh',
    );
  });

  it('keeps the CUDA JIT cache on a volume and takes no credentials at build time', () => {
    const env = final.instructions
      .filter((i) => i.getKeyword() === 'ENV')
      .map((i) => i.getArgumentsContent());
    expect(env.join(' ')).toMatch(/CUDA_CACHE_PATH=\/var\/cache\/tfmlops\/cuda/);
    expect(execForm(lastInstruction(final, 'VOLUME')!)).toEqual(['/var/cache/tfmlops/cuda']);
    const text = readRepoFile('dockerfiles/trainer.dockerfile');
    expect(text).not.toMatch(/^(ARG|ENV)\s+(WANDB_API_KEY|GOOGLE_APPLICATION_CREDENTIALS)/m);
  });
});

describe('api.dockerfile', () => {
  const dockerfile = readDockerfile('dockerfiles/api.dockerfile');
  const text = readRepoFile('dockerfiles/api.dockerfile');
  const final = dockerfile.stages.at(-1)!;
  const env = Object.fromEntries(
    final.instructions
      .filter((i) => i.getKeyword() === 'ENV')
      .flatMap((i) => [...(i.getArgumentsContent() ?? '').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])),
  );

  it('is multi-stage on a slim Debian Node base, with production dependencies only', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    expect(final.resolvedImage).toMatch(/^node:20-(bookworm|bullseye)-slim$/);
    expect(readRepoFile('dockerfiles/api.dockerfile')).toMatch(/--filter @tfmlops\/serve deploy --prod/);
  });

  it('runs as a non-root user', () => {
    const user = lastInstruction(final, 'USER')?.getArgumentsContent();
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('exposes the port the server listens on (PORT)', () => {
    const exposed = lastInstruction(final, 'EXPOSE')?.getArgumentsContent();
    expect(exposed).toBe(env.PORT);
    expect(env.PORT).toBe('8080');
  });

  it('starts node directly (SIGTERM reaches it, no shell, no tsx) on the bundle the build stage makes', () => {
    const entrypoint = execForm(lastInstruction(final, 'ENTRYPOINT')!)!;
    expect(entrypoint[0]).toBe('node');
    expect(entrypoint.join(' ')).not.toMatch(/tsx|\.ts\b|sh -c/);
    expect(lastInstruction(final, 'CMD')).toBeUndefined();
    // /out becomes /app, the final WORKDIR; the build stage builds the service and copies its dist/ to /out/dist.
    expect(text).toMatch(/COPY --from=build \/out \/app/);
    expect(lastInstruction(final, 'WORKDIR')?.getArgumentsContent()).toBe('/app');
    expect(text).toMatch(/pnpm --filter @tfmlops\/serve build/);
    expect(text).toMatch(/cp -r packages\/serve\/dist \/out\/dist/);
    // The entry point is the file packages/serve/scripts/build.ts writes, relative to the package directory.
    expect(entrypoint.slice(1)).toEqual([relative(join(ROOT, 'packages/serve'), OUTFILE)]);
  });

  it('checks at build time that the bundle, its worker bundles and the page are in /out', () => {
    const wanted = [
      `/out/${relative(join(ROOT, 'packages/serve'), OUTFILE)}`,
      ...workerOutfiles().map((file) => `/out/${relative(join(ROOT, 'packages/serve'), file)}`),
      '/out/public/index.html',
    ];
    expect(wanted).toContain('/out/dist/drift-worker.cjs');
    for (const file of wanted) expect(text).toContain(`test -f ${file}`);
    expect(repoFiles()).toContain('packages/serve/public/index.html');
  });

  it('keeps only what the bundle imports (prune-deploy.mjs on externals.json), and no tsx', () => {
    expect(text).toMatch(
      /node \/usr\/local\/lib\/prune-deploy\.mjs \/out --keep-if-loads @tensorflow\/tfjs-node/,
    );
    expect(dockerfile.repoFileAt(dockerfile.stages[0]!, '/usr/local/lib/prune-deploy.mjs')).toBe(
      'dockerfiles/prune-deploy.mjs',
    );
    expect(text).not.toMatch(/--import tsx|ln -s .*tsx/);
  });

  it('health-checks GET /readyz on PORT', () => {
    const check = execForm(lastInstruction(final, 'HEALTHCHECK')!)!.join(' ');
    expect(check).toMatch(/\/readyz/);
    expect(check).toMatch(/process\.env\.PORT/);
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, run outputs, data, bundles, caches and git out of the build context', () => {
    for (const path of [
      'node_modules/x/index.js',
      'packages/core/node_modules/x/index.js',
      'runs/exp1/2026-01-01/summary.json',
      'data/processed/mnist/v1/manifest.json',
      'artifacts/models/exp1/latest.json',
      'reports/data/mnist/report.md',
      '.cache/x',
      'packages/data/.cache/x',
      'coverage/index.html',
      '.git/HEAD',
      'packages/serve/dist/server.cjs',
    ])
      expect(dockerIgnored(path), path).toBe(true);
  });

  it('lets the sources in (packages/data is not the data/ directory)', () => {
    for (const path of ['packages/data/src/index.ts', 'packages/serve/src/server.ts', 'configs/exp1.yaml'])
      expect(dockerIgnored(path), path).toBe(false);
  });
});
