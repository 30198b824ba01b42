import type { z } from 'zod';
import { knownKeysAt } from './schema-keys.ts';
import { closestKey, describeValue } from './suggest.ts';

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
      const suggestion = known ? closestKey(key, known) : undefined;
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
