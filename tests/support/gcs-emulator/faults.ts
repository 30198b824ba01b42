/** A fault the emulator injects into matching requests, `times` times (Infinity for every request). */
export interface FaultRule {
  method?: string;
  /** Matched against the request path (without query string). */
  path?: RegExp;
  /** Respond with this status (e.g. 503, 429) instead of handling the request. */
  status?: number;
  /** Destroy the connection after this many request-body bytes arrived (0 = before answering). */
  dropConnectionAfterBytes?: number;
  /** Serve a download with one byte flipped while keeping the true hashes in the headers. */
  corruptBody?: boolean;
  times: number;
}

export class FaultPlan {
  private rules: FaultRule[] = [];

  add(rule: FaultRule): void {
    this.rules.push({ ...rule });
  }

  clear(): void {
    this.rules = [];
  }

  /** The first matching rule with uses left; consumes one use. */
  take(method: string, path: string): FaultRule | undefined {
    const rule = this.rules.find(
      (r) => r.times > 0 && (!r.method || r.method === method) && (!r.path || r.path.test(path)),
    );
    if (rule) rule.times -= 1;
    return rule;
  }
}
