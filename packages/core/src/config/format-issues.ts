import type { z } from 'zod';
import { knownKeysAt } from './schema-keys.ts';

type OriginOf = (path: readonly PropertyKey[]) => string;

/** One line per problem: `<file or override>: <key path>: expected ..., found ...`. */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  originOf: OriginOf,
  schema: z.ZodType,
): string {
  return issues.flatMap((issue) => formatIssue(issue, originOf, schema)).join('\n');
}

function formatIssue(issue: z.core.$ZodIssue, originOf: OriginOf, schema: z.ZodType): string[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(schema, path);
    return issue.keys.map((key) => {
      const keyPath = [...path, key].join('.');
      const suggestion = known ? closest(key, known) : undefined;
      const didYouMean = suggestion ? ` (did you mean '${suggestion}'?)` : '';
      const knownList = known ? `; known keys: ${known.join(', ')}` : '';
      return `  ${originOf([...path, key])}: ${keyPath}: unknown key${didYouMean}${knownList}`;
    });
  }
  const where = path.length > 0 ? path.join('.') : '(top level)';
  return [`  ${originOf(path)}: ${where}: ${describeIssue(issue)}`];
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const found = 'input' in issue ? describeValue(issue.input) : 'nothing';
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `missing required value (expected ${issue.expected})`
        : `expected ${issue.expected}, found ${found}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${found}`;
    case 'invalid_union':
      return `${issue.message}, found ${found}`;
    default:
      return `${issue.message}, found ${found}`;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return `list ${truncate(JSON.stringify(value))}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return `mapping ${truncate(JSON.stringify(value))}`;
  return `${typeof value} ${String(value)}`;
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The known key nearest to a typo, when it is near enough to be a likely slip. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
