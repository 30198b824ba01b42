/**
 * A fault the emulator injects into the next matching requests. A rule matches on method, path and query; each
 * match uses up one of its `times` (default 1; `Infinity` for every request). The first rule with uses left wins.
 */
export interface FaultRule {
  method?: string;
  /** A RegExp tested against the request path, or a substring of it. */
  path?: RegExp | string;
  /** Query parameters the request must carry with these exact values, e.g. `{ uploadType: 'resumable' }`. */
  query?: Record<string, string>;
  times?: number;
  /** Answer with this status (e.g. 503, 429, 403) instead of handling the request. */
  status?: number;
  /** Destroy the connection while the request body arrives: after `afterBytes` bytes (default 0: at once). */
  dropConnection?: boolean;
  afterBytes?: number;
  /** Handle the request (it takes effect), then destroy the connection instead of answering: a lost response. */
  dropResponse?: boolean;
  /** Answer headers and this many body bytes, then destroy the connection: a download cut short. */
  dropResponseAfterBytes?: number;
  /** Serve media with one byte flipped while the headers keep the true hashes: corruption in transit. */
  corruptDownload?: boolean;
  /** Flip one byte of an upload's media before the server checks and stores it: corruption on the way in. */
  corruptUpload?: boolean;
}

export interface RequestFacts {
  method: string;
  path: string;
  query: Record<string, string>;
}

export class FaultPlan {
  private rules: Array<FaultRule & { left: number }> = [];

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** The first matching rule with uses left, consuming one use. */
  take(request: RequestFacts): FaultRule | undefined {
    const rule = this.rules.find((r) => r.left > 0 && matches(r, request));
    if (rule) rule.left -= 1;
    return rule;
  }
}

function matches(rule: FaultRule, { method, path, query }: RequestFacts): boolean {
  if (rule.method && rule.method.toUpperCase() !== method) return false;
  if (rule.path instanceof RegExp && !rule.path.test(path)) return false;
  if (typeof rule.path === 'string' && !path.includes(rule.path)) return false;
  return Object.entries(rule.query ?? {}).every(([key, value]) => query[key] === value);
}
