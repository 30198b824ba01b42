import type { z } from 'zod';

/** One documented key of the config: its dotted path, accepted values, default and meaning. */
export interface ReferenceRow {
  key: string;
  type: string;
  default: string;
  meaning: string;
}

/** A table of keys: one per top-level section, plus one per variant of a union such as `data.source`. */
export interface ReferenceTable {
  title: string;
  /** Text under the title: the section's own description. */
  intro: string;
  rows: ReferenceRow[];
}

type Schema = z.core.$ZodType;
interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  shape?: Record<string, Schema>;
  options?: Schema[];
  element?: Schema;
  items?: Schema[];
  valueType?: Schema;
  entries?: Record<string, string | number>;
  values?: unknown[];
  checks?: Array<{ _zod: { def: CheckDef } }>;
  defaultValue?: unknown;
  discriminator?: string;
  format?: string;
}
interface CheckDef {
  check: string;
  value?: number;
  inclusive?: boolean;
  format?: string;
  minimum?: number;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

const defOf = (schema: Schema) => schema._zod.def as unknown as Def;
const descriptionOf = (schema: Schema) => (schema as unknown as { description?: string }).description;

/** What a key looks like through its wrappers: the innermost schema, its default, optionality and description. */
interface Unwrapped {
  core: Schema;
  description: string | undefined;
  defaultValue: unknown;
  hasDefault: boolean;
  optional: boolean;
}

function unwrap(schema: Schema): Unwrapped {
  let current = schema;
  let description: string | undefined;
  let defaultValue: unknown;
  let hasDefault = false;
  let optional = false;
  for (;;) {
    description ??= descriptionOf(current);
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) {
      if ((def.type === 'default' || def.type === 'prefault') && !hasDefault) {
        hasDefault = true;
        defaultValue = def.defaultValue;
      }
      if (def.type === 'optional') optional = true;
      current = def.innerType;
      continue;
    }
    // A `.transform()` is a pipe from the schema users write; `z.preprocess` is a pipe into it.
    if (def.type === 'pipe' && def.in && def.out) {
      current = defOf(def.in).type === 'transform' ? def.out : def.in;
      continue;
    }
    return { core: current, description, defaultValue, hasDefault, optional };
  }
}

/**
 * Walks an experiment schema (zod 4) into reference tables: every key with its type, range, default and the text of
 * its `.describe()`. Keys without a description are returned in `undocumented`, so a test can insist on none.
 */
export function describeConfigSchema(schema: Schema): { tables: ReferenceTable[]; undocumented: string[] } {
  const undocumented: string[] = [];
  const tables: ReferenceTable[] = [];
  const root = unwrap(schema).core;
  const topLevel: ReferenceRow[] = [];
  for (const [key, child] of Object.entries(defOf(root).shape ?? {})) {
    const info = unwrap(child);
    const def = defOf(info.core);
    if (def.type === 'object') {
      if (!info.description) undocumented.push(key);
      const table: ReferenceTable = { title: key, intro: info.description ?? '', rows: [] };
      tables.push(table);
      walkObject(info.core, [key], table, tables, undocumented);
    } else if (def.type === 'union' && def.discriminator) {
      // A whole section chosen by a discriminator (`model.architecture`): one table per variant.
      if (!info.description) undocumented.push(key);
      const table: ReferenceTable = { title: key, intro: info.description ?? '', rows: [] };
      table.rows.push(rowFor([key], info, []));
      tables.push(table);
      addVariants(def, [key], tables, undocumented);
    } else {
      topLevel.push(rowFor([key], info, undocumented));
    }
  }
  if (topLevel.length > 0) tables.unshift({ title: '(top level)', intro: '', rows: topLevel });
  return { tables, undocumented };
}

function walkObject(
  schema: Schema,
  path: string[],
  table: ReferenceTable,
  tables: ReferenceTable[],
  undocumented: string[],
): void {
  for (const [key, child] of Object.entries(defOf(schema).shape ?? {})) {
    const keyPath = [...path, key];
    const info = unwrap(child);
    const def = defOf(info.core);
    if (def.type === 'object') {
      table.rows.push(rowFor(keyPath, info, undocumented));
      walkObject(info.core, keyPath, table, tables, undocumented);
    } else if (def.type === 'union' && def.discriminator) {
      table.rows.push(rowFor(keyPath, info, undocumented));
      addVariants(def, keyPath, tables, undocumented);
    } else {
      table.rows.push(rowFor(keyPath, info, undocumented));
    }
  }
}

/** One table per variant of a discriminated union at `keyPath`. */
function addVariants(def: Def, keyPath: string[], tables: ReferenceTable[], undocumented: string[]): void {
  for (const option of def.options ?? []) {
    const variant = unwrap(option).core;
    const tag = literalOf(defOf(variant).shape?.[def.discriminator as string]);
    const sub: ReferenceTable = {
      title: `${keyPath.join('.')} with ${def.discriminator}: ${tag}`,
      intro: unwrap(option).description ?? '',
      rows: [],
    };
    tables.push(sub);
    walkObject(variant, keyPath, sub, tables, undocumented);
  }
}

function rowFor(path: string[], info: Unwrapped, undocumented: string[]): ReferenceRow {
  const key = path.join('.');
  const isDiscriminator = defOf(info.core).type === 'literal';
  if (!info.description && !isDiscriminator) undocumented.push(key);
  return {
    key,
    type: typeOf(info.core),
    default: defaultOf(info),
    meaning: info.description ?? (isDiscriminator ? 'Selects this variant' : ''),
  };
}

function defaultOf(info: Unwrapped): string {
  if (info.hasDefault) {
    const value = info.defaultValue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.keys(value).length === 0 ? '(its keys)' : `\`${JSON.stringify(value)}\``;
    }
    return `\`${JSON.stringify(value)}\``;
  }
  if (info.optional) return 'unset';
  return defOf(info.core).type === 'literal' ? '' : 'required';
}

function literalOf(schema: Schema | undefined): string {
  if (!schema) return '?';
  const values = defOf(unwrap(schema).core).values ?? [];
  return values.map(String).join(' | ');
}

/** The accepted values of a leaf, as a reader would say them: `integer in [1, 8]`, `'a' \| 'b'`, `list of string`. */
export function typeOf(schema: Schema): string {
  const core = unwrap(schema).core;
  const def = defOf(core);
  switch (def.type) {
    case 'string':
      return def.format === 'url' ? 'URL' : 'string';
    case 'number':
      return numberType(def);
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(def.entries ?? {})
        .map((value) => `\`${value}\``)
        .join(' | ');
    case 'literal':
      return (def.values ?? []).map((value) => `\`${String(value)}\``).join(' | ');
    case 'union':
      if (def.discriminator) {
        const tags = (def.options ?? []).map((option) =>
          literalOf(defOf(unwrap(option).core).shape?.[def.discriminator as string]),
        );
        return `mapping with \`${def.discriminator}\`: ${tags.join(' | ')} (keys below)`;
      }
      return (def.options ?? []).map((option) => typeOf(option)).join(' or ');
    case 'array': {
      const min = def.checks?.find((check) => check._zod.def.check === 'min_length')?._zod.def.minimum;
      return `list of ${def.element ? typeOf(def.element) : 'values'}${min ? ` (at least ${min})` : ''}`;
    }
    case 'tuple':
      return `[${(def.items ?? []).map((item) => typeOf(item)).join(', ')}]`;
    case 'record':
      return `mapping to ${def.valueType ? typeOf(def.valueType) : 'values'}`;
    case 'object':
      return 'mapping';
    default:
      return def.type;
  }
}

function numberType(def: Def): string {
  const checks = (def.checks ?? []).map((check) => check._zod.def);
  const integer = checks.some((check) => check.check === 'number_format' && check.format === 'safeint');
  const lower = checks.find((check) => check.check === 'greater_than');
  const upper = checks.find((check) => check.check === 'less_than');
  const base = integer ? 'integer' : 'number';
  if (lower && upper) {
    return `${base} in ${lower.inclusive ? '[' : '('}${lower.value}, ${upper.value}${upper.inclusive ? ']' : ')'}`;
  }
  if (lower) return `${base} ${lower.inclusive ? '≥' : '>'} ${lower.value}`;
  if (upper) return `${base} ${upper.inclusive ? '≤' : '<'} ${upper.value}`;
  return base;
}

/** Table-cell text: pipes escaped, `<name>` kept visible (not read as an HTML tag), one line. */
const cell = (text: string) =>
  text
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\s*\n\s*/g, ' ');

/** The reference as markdown: a header saying how it is made, then one table per section. */
export function renderConfigReference(schema: Schema, { command }: { command: string }): string {
  const { tables } = describeConfigSchema(schema);
  const lines = [
    '# Experiment configuration reference',
    '',
    `Every key an experiment file (\`configs/*.yaml\`) accepts, generated from the zod schemas by \`${command}\`;`,
    'do not edit by hand (a test fails when this file is stale). Keys are dotted paths: `train.optimizer.name: sgd`',
    'in YAML, or `train.optimizer.name=sgd` on the command line. A file holds only what it changes from its base',
    '(`extends: ./base.yaml`); `${VAR:-default}` reads the environment. Unknown keys and out-of-range values are',
    'refused before anything runs (exit code 2).',
  ];
  for (const table of tables) {
    lines.push('', `## \`${table.title}\``, '');
    if (table.intro) lines.push(`${table.intro}.`.replace(/\.\.$/, '.'), '');
    lines.push('| key | type | default | meaning |', '| --- | --- | --- | --- |');
    for (const row of table.rows) {
      lines.push(`| \`${row.key}\` | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.meaning)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
