// The delivery docs say what to type; what they name must exist: repository paths, pnpm scripts, the trainer
// image's commands, the files the gcloud commands apply, and the pages they link to.
import { existsSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { serveEnvSchema } from '@tfmlops/serve';
import { describe, expect, it } from 'vitest';
import { ROOT, readRepoFile, repoFiles, rootScripts, unknownPnpmCommands } from './repo.ts';

const PAGES = ['docs/gcp-runbook.md', 'docs/delivery.md'];

/** Code of a page: fenced blocks and inline spans, where commands and paths are written. */
function codeOf(markdown: string): string {
  const fenced = [...markdown.matchAll(/```[\w-]*\n([\s\S]*?)```/g)].map((m) => m[1]);
  const inline = [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  return [...fenced, ...inline].join('\n');
}

/** Paths into the repository (`configs/...`, `dockerfiles/...`, ...) that contain no placeholder or variable. */
function repoPaths(text: string): string[] {
  const found = text.matchAll(
    /(?<![\w$/.-])((?:\.github|\.ci|\.dvc|configs|dockerfiles|docs|packages|tests|bench)\/[\w./-]*[\w/])/g,
  );
  return [...new Set([...found].map((m) => m[1]!))].filter((p) => !/[<>$*{}]|\.\.\./.test(p));
}

/** The service's environment: what the API image reads. */
const SERVE_ENV = new Set(Object.keys(serveEnvSchema.shape));

/** Environment variable names (`NAME_WITH_UNDERSCORE`) written anywhere in the repository's code, configs and CI. */
function namesReadByTheRepository(): Set<string> {
  const sources = repoFiles().filter(
    (f) =>
      /^(packages\/[^/]+\/(src|scripts)|dockerfiles|configs|\.github|\.ci|\.dvc|tests\/containers)\//.test(
        f,
      ) && !/\.(png|jpe?g|webp|gz|bin)$/.test(f),
  );
  const names = new Set<string>();
  for (const file of sources) {
    for (const [name] of readRepoFile(file).matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b/g))
      names.add(name);
  }
  return names;
}

/** Variables a page's shell code assigns itself (`export A=x B=y`, `NAME=$(...)`), which need no reader. */
function assignedByThePage(code: string): Set<string> {
  const names = new Set<string>();
  for (const line of code.split('\n')) {
    const assignments = line.match(/^\s*(?:export\s+)?((?:[A-Z][A-Z0-9_]*=\S+\s*)+)/)?.[1] ?? '';
    for (const [, name] of assignments.matchAll(/([A-Z][A-Z0-9_]*)=/g)) names.add(name!);
  }
  return names;
}

/** Placeholders the pages ask the reader to replace (not variables). */
const PLACEHOLDERS = new Set(['JOB_ID']);

describe.each(PAGES)('%s', (page) => {
  const markdown = readRepoFile(page);
  const code = codeOf(markdown);

  it('names only paths that exist in the repository', () => {
    const paths = repoPaths(code);
    expect(paths.length).toBeGreaterThan(3);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it('runs only pnpm scripts that exist', () => {
    expect(unknownPnpmCommands(code)).toEqual([]);
  });

  it('gives the trainer image only commands its entrypoint knows (flags, key=value or a root script)', () => {
    const scripts = rootScripts();
    const runs = code.split('\n').filter((line) => /docker run\b/.test(line));
    const commands = runs.flatMap((line) =>
      [...line.matchAll(/(?:trainer:latest|"\$TRAINER")[ \t]+([^\s\\`]+)/g)].map((m) => m[1]!),
    );
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) {
      expect(command.startsWith('-') || command.includes('=') || command in scripts, command).toBe(true);
    }
  });

  it('passes the API only environment variables the service reads (packages/serve/src/config.ts)', () => {
    const passed = [
      // gcloud run services update --update-env-vars A=x,B=y / --set-env-vars
      ...[...code.matchAll(/--(?:update|set)-env-vars[ =]+"?([^"\s]+)/g)].flatMap((m) =>
        m[1]!.split(',').map((pair) => pair.split('=')[0]!),
      ),
      // docker run ... -e NAME[=value] ... api:latest
      ...code
        .split('\n')
        .filter((line) => /docker run\b.*\bapi:latest/.test(line))
        .flatMap((line) => [...line.matchAll(/(?:^|\s)-e\s+([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!)),
    ];
    expect(passed.filter((name) => !SERVE_ENV.has(name))).toEqual([]);
  });

  it('names only environment variables something in the repository reads (or that the page sets itself)', () => {
    const known = namesReadByTheRepository();
    for (const name of SERVE_ENV) known.add(name);
    const own = assignedByThePage(code);
    const named = new Set(code.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b/g));
    expect(named.size).toBeGreaterThan(3);
    expect(
      [...named].filter((name) => !known.has(name) && !own.has(name) && !PLACEHOLDERS.has(name)),
    ).toEqual([]);
  });

  it('links to pages that exist', () => {
    for (const [, target] of markdown.matchAll(/\]\(([^)#\s]+\.md)(#[^)]*)?\)/g)) {
      expect(existsSync(join(ROOT, dirname(page), posix.normalize(target!))), target).toBe(true);
    }
  });
});

describe('docs/gcp-runbook.md', () => {
  const code = codeOf(readRepoFile('docs/gcp-runbook.md'));

  it('applies the cloud specs of configs/cloud with the commands their headers name', () => {
    expect(code).toContain('render configs/cloud/cloudrun-service.yaml > service.yaml');
    expect(code).toContain('gcloud run services replace service.yaml --region "$REGION"');
    expect(readRepoFile('configs/cloud/cloudrun-service.yaml')).toContain('gcloud run services replace');
    expect(code).toContain('render configs/cloud/vertex-train-job.yaml > vertex-job.yaml');
    expect(code).toContain(
      'gcloud ai custom-jobs create --region "$REGION" --display-name exp1 --config vertex-job.yaml',
    );
  });

  it('fills in every placeholder the cloud specs hold', () => {
    const render = code.match(/render\(\) \{ sed -e "([^"]+)"/)?.[1] ?? '';
    for (const file of ['cloudrun-service.yaml', 'vertex-train-job.yaml', 'vertex-train-job-large.yaml']) {
      const placeholders = new Set(readRepoFile(`configs/cloud/${file}`).match(/\b[A-Z][A-Z_]{4,}\b/g));
      for (const name of ['PROJECT_ID', 'REGION', 'REPOSITORY', 'BUCKET'].filter((n) => placeholders.has(n)))
        expect(render, `${file}: ${name}`).toContain(`s/${name}/`);
    }
  });

  it('sets every repository variable the workflows read', () => {
    const workflows = ['docker.yml', 'deploy.yml']
      .map((f) => readRepoFile(`.github/workflows/${f}`))
      .join('\n');
    const variables = new Set([...workflows.matchAll(/vars\.(\w+)/g)].map((m) => m[1]!));
    expect(variables.size).toBeGreaterThan(3);
    for (const variable of variables) expect(code, variable).toContain(`gh variable set ${variable} `);
  });
});
