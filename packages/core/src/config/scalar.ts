import { parse } from 'yaml';

/**
 * Reads a command-line or environment value the way YAML would read it in a file: `3` is a number, `true` a
 * boolean, `null` null, `[a, b]` a list, anything else a string. Unparseable YAML stays the literal string.
 */
export function parseScalar(text: string): unknown {
  if (text.trim() === '') return '';
  try {
    return parse(text);
  } catch {
    return text;
  }
}
