import { isConfigObject } from './deep-merge.ts';

/**
 * Remembers where every key of the final config came from (a file, or a command-line override), so an error can
 * say "configs/exp1.yaml: train.epochs ..." instead of leaving the user to search a chain of `extends`.
 */
export class Provenance {
  private readonly origins = new Map<string, string>();

  /** Records `origin` for every key path in `value` (mappings are walked; lists and scalars are leaves). */
  record(value: unknown, origin: string, prefix: readonly string[] = []): void {
    // Mappings an override creates on its way down belong to it too, unless a file defined them first.
    for (let depth = 1; depth < prefix.length; depth += 1) {
      const ancestor = prefix.slice(0, depth).join('.');
      if (!this.origins.has(ancestor)) this.origins.set(ancestor, origin);
    }
    if (prefix.length > 0) this.origins.set(prefix.join('.'), origin);
    if (!isConfigObject(value)) return;
    for (const [key, child] of Object.entries(value)) this.record(child, origin, [...prefix, key]);
  }

  /** The origin of the deepest recorded path that is a prefix of `path`, or `fallback`. */
  originOf(path: readonly PropertyKey[], fallback: string): string {
    for (let depth = path.length; depth > 0; depth -= 1) {
      const origin = this.origins.get(path.slice(0, depth).map(String).join('.'));
      if (origin) return origin;
    }
    return fallback;
  }
}
