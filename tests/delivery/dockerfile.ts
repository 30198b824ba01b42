// A Dockerfile read the way a builder reads it (dockerfile-ast): stages, copies from the build context and where
// they land, and the exec-form arguments of ENTRYPOINT/CMD/HEALTHCHECK.
import { existsSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import picomatch from 'picomatch';
import { ROOT, readRepoFile } from './repo.ts';

export interface Stage {
  /** The FROM image as written (`${BASE}`), with build arguments resolved to their defaults (`resolvedImage`). */
  image: string;
  resolvedImage: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface ContextCopy {
  sources: string[];
  destination: string;
  /** The absolute destination (WORKDIR applied). */
  absoluteDestination: string;
  line: number;
}

export function readDockerfile(path: string) {
  const dockerfile = DockerfileParser.parse(readRepoFile(path));
  const defaults = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property?.getValue() != null) defaults.set(property.getName(), property.getValue()!);
  }
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const [image = '', , name] = instruction.getArguments().map((a) => a.getValue());
      const resolvedImage = image.replace(
        /\$\{?(\w+)\}?/g,
        (_, arg: string) => defaults.get(arg) ?? `\${${arg}}`,
      );
      stages.push({ image, resolvedImage, name, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }

  /** Every COPY/ADD from the build context (not `--from` another stage), per stage, with WORKDIR applied. */
  function contextCopies(stage: Stage): ContextCopy[] {
    let workdir = '/';
    const copies: ContextCopy[] = [];
    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      if (keyword === 'WORKDIR') workdir = posix.resolve(workdir, instruction.getArguments()[0]!.getValue());
      if (keyword !== 'COPY' && keyword !== 'ADD') continue;
      if (copyFrom(instruction)) continue;
      const words = instruction
        .getArguments()
        .map((a) => a.getValue())
        .filter((w) => !w.startsWith('--'));
      const destination = words.pop()!;
      copies.push({
        sources: words,
        destination,
        absoluteDestination: posix.resolve(workdir, destination),
        line: instruction.getRange().start.line + 1,
      });
    }
    return copies;
  }

  /** The repository file a path inside the image came from, if a COPY of the given stage put it there. */
  function repoFileAt(stage: Stage, containerPath: string): string | undefined {
    for (const copy of contextCopies(stage).reverse()) {
      const intoDirectory = copy.destination.endsWith('/') || copy.sources.length > 1;
      for (const source of copy.sources) {
        const sourceIsDirectory =
          existsSync(join(ROOT, source)) && statSync(join(ROOT, source)).isDirectory();
        if (sourceIsDirectory) {
          const prefix = `${copy.absoluteDestination}/`;
          if (containerPath.startsWith(prefix)) {
            const candidate = posix.join(source, containerPath.slice(prefix.length));
            if (existsSync(join(ROOT, candidate))) return candidate;
          }
        } else {
          const landed = intoDirectory
            ? posix.join(copy.absoluteDestination, basename(source))
            : copy.absoluteDestination;
          if (landed === containerPath) return source;
        }
      }
    }
    return undefined;
  }

  return { stages, defaults, contextCopies, repoFileAt };
}

/** The stage (or image) a `COPY --from=...` copies from; undefined for a copy from the build context. */
export function copyFrom(instruction: Instruction): string | undefined {
  if (!(instruction instanceof Copy)) return undefined;
  return instruction.getFromFlag()?.getValue() ?? undefined;
}

/** The JSON array of an exec-form instruction (`ENTRYPOINT ["a", "b"]`, `HEALTHCHECK ... CMD ["a"]`), or undefined. */
export function execForm(instruction: Instruction): string[] | undefined {
  const content = instruction.getArgumentsContent() ?? '';
  const json = content.slice(content.indexOf('['));
  if (!json.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(json.replace(/\\\n/g, ''));
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function lastInstruction(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.getKeyword() === keyword).pop();
}

/**
 * Whether .dockerignore keeps a context path out of the build: Docker's rules (patterns from the context root,
 * `**` for any depth, the last matching pattern wins, `!` re-includes; a path is out when it or a parent is).
 */
export function dockerIgnored(path: string, ignoreFile = readRepoFile('.dockerignore')): boolean {
  const rules = ignoreFile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = posix.normalize(line.replace(/^!/, '')).replace(/^\/+|\/+$/g, '');
      return { negated, isMatch: picomatch(pattern, { dot: true }) };
    });
  const parts = path.replace(/\/+$/, '').split('/');
  let ignored = false;
  for (let depth = 1; depth <= parts.length; depth++) {
    const prefix = parts.slice(0, depth).join('/');
    for (const rule of rules) if (rule.isMatch(prefix)) ignored = !rule.negated;
    if (ignored) return true;
  }
  return ignored;
}
