// The GitHub Actions workflows: valid against the Actions schema, path filters that match files, and the promises
// each workflow makes (matrix, coverage, OIDC instead of keys, smoke test) held to.
import { validateWorkflow } from '@action-validator/core';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readRepoFile, repoFiles, unknownPnpmCommands } from './repo.ts';

const WORKFLOWS = repoFiles().filter((f) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(f));

/**
 * action-validator (the schema validator its CLI runs, in process: one wasm start instead of one per file). Its npm
 * build warns on stderr that it cannot check globs; the path-filter test below does that.
 */
function validate(source: string): { ok: boolean; output: string } {
  const { errors } = validateWorkflow(source);
  return { ok: errors.length === 0, output: JSON.stringify(errors, null, 2) };
}

// biome-ignore lint/suspicious/noExplicitAny: workflow YAML is checked field by field below
type Workflow = any;
const workflow = (name: string): Workflow => parse(readRepoFile(`.github/workflows/${name}`));
/** Every `run:` script and `uses:` of every job, in order. */
function steps(
  wf: Workflow,
): Array<{ run?: string; uses?: string; with?: Record<string, unknown>; if?: string }> {
  return Object.values(wf.jobs).flatMap((job) => (job as { steps?: [] }).steps ?? []);
}

describe('GitHub Actions workflows', () => {
  it('are the four the delivery needs', () => {
    expect(WORKFLOWS.map((f) => f.split('/').pop()).sort()).toEqual([
      'ci.yml',
      'data.yml',
      'deploy.yml',
      'docker.yml',
    ]);
  });

  it.each(WORKFLOWS)('%s validates against the GitHub Actions schema (action-validator)', (file) => {
    const { ok, output } = validate(readRepoFile(file));
    expect(ok, output).toBe(true);
  });

  it('the validator rejects a workflow with a schema error (so a pass above means something)', () => {
    const broken = workflow('ci.yml');
    broken.jobs.test['runs-onn'] = broken.jobs.test['runs-on'];
    delete broken.jobs.test['runs-on'];
    const { ok, output } = validate(JSON.stringify(broken));
    expect(ok).toBe(false);
    expect(output).toMatch(/runs-onn/);
  });

  // GitHub treats a path filter that matches nothing as a typo waiting to happen; action-validator's npm build
  // cannot check globs ("Glob validation is not yet supported"), so this does, against the files of the repository.
  it.each(WORKFLOWS)('%s: every path filter matches a file in the repository', (file) => {
    const wf = parse(readRepoFile(file));
    const files = repoFiles();
    for (const [event, spec] of Object.entries(wf.on ?? {})) {
      for (const key of ['paths', 'paths-ignore']) {
        for (const pattern of ((spec as Record<string, string[]> | null)?.[key] ?? []) as string[]) {
          const isMatch = picomatch(pattern.replace(/^!/, ''), { dot: true });
          expect(
            files.some((f) => isMatch(f)),
            `${event}.${key}: ${pattern}`,
          ).toBe(true);
        }
      }
    }
  });

  it.each(WORKFLOWS)('%s: every pnpm command it runs exists', (file) => {
    const scripts = steps(parse(readRepoFile(file)))
      .map((s) => s.run ?? '')
      .join('\n');
    expect(unknownPnpmCommands(scripts)).toEqual([]);
  });
});

describe('ci.yml', () => {
  const ci = workflow('ci.yml');

  it('runs on every pull request and on pushes to main', () => {
    expect(ci.on).toHaveProperty('pull_request');
    expect(ci.on.push.branches).toEqual(['main']);
  });

  it('tests on ubuntu and macOS with Node 20 and 22, through the same script as local CI, with coverage', () => {
    const test = ci.jobs.test;
    expect(test.strategy.matrix.os).toEqual(expect.arrayContaining(['ubuntu-latest', 'macos-latest']));
    expect(test.strategy.matrix.node).toEqual(expect.arrayContaining([20, 22]));
    const all = steps({ jobs: { test } });
    expect(all.find((s) => s.uses?.startsWith('actions/setup-node'))?.with).toMatchObject({ cache: 'pnpm' });
    const ciRun = all.find((s) => s.run?.includes('.ci/run'));
    expect(ciRun).toMatchObject({ env: { CI_COVERAGE: '1' } });
    expect(readRepoFile('.ci/run')).toMatch(/CI_COVERAGE.*\n[\s\S]*pnpm test:coverage/);
    expect(
      all.some((s) => s.run?.includes('GITHUB_STEP_SUMMARY') && s.run.includes('coverage-summary.json')),
    ).toBe(true);
    expect(all.find((s) => s.uses?.startsWith('actions/upload-artifact'))?.with).toMatchObject({
      path: 'coverage/',
    });
  });

  it('builds and runs both images in its containers job (tests/containers/run.sh)', () => {
    const job = steps({ jobs: { c: ci.jobs.containers } });
    expect(job.some((s) => s.run?.includes('bash tests/containers/run.sh'))).toBe(true);
    expect(repoFiles()).toContain('tests/containers/run.sh');
  });
});

describe('docker.yml', () => {
  const docker = workflow('docker.yml');
  const all = steps(docker);

  it('runs on main and version tags', () => {
    expect(docker.on.push.branches).toEqual(['main']);
    expect(docker.on.push.tags).toEqual(['v*']);
  });

  it('authenticates through Workload Identity Federation (OIDC token), never a JSON key', () => {
    expect(docker.permissions['id-token']).toBe('write');
    const auth = all.find((s) => s.uses?.startsWith('google-github-actions/auth'));
    expect(auth?.with).toHaveProperty('workload_identity_provider');
    expect(readRepoFile('.github/workflows/docker.yml')).not.toMatch(/credentials_json|secrets\.GCP|_KEY/);
  });

  it('builds every image of the matrix from its Dockerfile and pushes it tagged with the commit SHA and latest', () => {
    const build = all.find((s) => s.uses?.startsWith('docker/build-push-action'));
    expect(build?.with?.file).toBe('dockerfiles/${{ matrix.image }}.dockerfile');
    for (const image of docker.jobs.push.strategy.matrix.image)
      expect(repoFiles()).toContain(`dockerfiles/${image}.dockerfile`);
    expect(build?.with?.push).toBe(true);
    const tags = String(build?.with?.tags);
    expect(tags).toContain(':${{ github.sha }}');
    expect(tags).toContain(':latest');
    expect(docker.jobs.push.env.IMAGE).toMatch(/-docker\.pkg\.dev\//);
  });
});

describe('deploy.yml', () => {
  const deploy = workflow('deploy.yml');
  const text = readRepoFile('.github/workflows/deploy.yml');

  it('deploys the Cloud Run spec of the repository with a MODEL_URI', () => {
    expect(text).toContain('configs/cloud/cloudrun-service.yaml');
    expect(repoFiles()).toContain('configs/cloud/cloudrun-service.yaml');
    expect(text).toMatch(/gcloud run services replace/);
    expect(deploy.jobs.deploy.env.MODEL_URI).toBeDefined();
  });

  it('smoke-tests with a real digit and fails the job on a wrong answer, before traffic moves', () => {
    const names = steps(deploy).map((s) => (s as { name?: string }).name ?? '');
    const smoke = names.findIndex((n) => n.startsWith('Smoke test'));
    const traffic = names.findIndex((n) => n.startsWith('Move traffic'));
    expect(smoke).toBeGreaterThan(-1);
    expect(traffic).toBeGreaterThan(smoke);
    const script = String(steps(deploy)[smoke]?.run);
    expect(script).toContain('-F file=@tests/delivery/fixtures/digit-7.png');
    expect(repoFiles()).toContain('tests/delivery/fixtures/digit-7.png');
    expect(script).toMatch(/if \[ "\$label" != "7" \]; then[\s\S]*exit 1/);
  });
});

describe('data.yml', () => {
  const data = workflow('data.yml');

  it('runs on pull requests that touch dvc.yaml, the data configs or the data package', () => {
    expect(data.on.pull_request.paths).toEqual(
      expect.arrayContaining(['dvc.yaml', 'configs/**', 'packages/data/**']),
    );
  });

  it('computes the data report and posts it as a pull request comment', () => {
    const all = steps(data);
    const script = all.map((s) => s.run ?? '').join('\n');
    expect(script).toContain('pnpm data prepare --config configs/exp1.yaml');
    expect(script).toContain('pnpm data report --config configs/exp1.yaml');
    expect(all.find((s) => s.uses?.startsWith('marocchino/sticky-pull-request-comment'))?.with).toMatchObject(
      {
        path: 'comment.md',
      },
    );
    expect(data.permissions['pull-requests']).toBe('write');
  });
});
