import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** One line describing where a benchmark ran, recorded with every result. */
export function describeMachine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  return `${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} at start`;
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Writes bench/results/<name>-<timestamp>.json and <name>-latest.json. */
export function writeResults(name: string, data: unknown): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const text = `${JSON.stringify(data, null, 2)}\n`;
  const file = join(BENCH_DIR, 'results', `${name}-${stamp}.json`);
  writeAtomic(file, text);
  writeAtomic(join(BENCH_DIR, 'results', `${name}-latest.json`), text);
  return file;
}

/** Replaces the section between `<!-- name:start -->` and `<!-- name:end -->` in bench/README.md. */
export function updateReadmeSection(name: string, markdown: string): void {
  const path = join(BENCH_DIR, 'README.md');
  let readme: string;
  try {
    readme = readFileSync(path, 'utf8');
  } catch {
    readme =
      '# Benchmarks\n\nEach benchmark runs our code and a peer side by side in one run: `pnpm bench <name>`.\n';
  }
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const pattern = new RegExp(`${start}[\\s\\S]*?${end}`);
  writeAtomic(
    path,
    pattern.test(readme) ? readme.replace(pattern, block) : `${readme.trimEnd()}\n\n${block}\n`,
  );
}

/** Markdown table from rows of cells. */
export function markdownTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** Debian's python3 (the pyenv one first on PATH lacks torch). */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** Makes sure a Debian python package is importable, installing it with apt when missing; says so when it does. */
export function ensurePythonModule(module: string, debianPackage: string): boolean {
  const importable = () => {
    try {
      execFileSync(DEBIAN_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (importable()) return true;
  process.stderr.write(
    `peer: python module '${module}' missing; installing Debian package ${debianPackage} with apt-get\n`,
  );
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', debianPackage], { stdio: 'inherit' });
  } catch {
    process.stderr.write(`peer: could not install ${debianPackage}; the peer is reported as unavailable\n`);
  }
  return importable();
}
