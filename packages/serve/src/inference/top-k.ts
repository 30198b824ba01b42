export interface LabelProbability {
  label: string;
  probability: number;
}

/** The `k` most probable labels, most probable first (ties keep label order). */
export function topK(
  probabilities: ArrayLike<number>,
  labels: readonly string[],
  k: number,
): LabelProbability[] {
  const order = Array.from({ length: probabilities.length }, (_, i) => i);
  order.sort((a, b) => (probabilities[b] as number) - (probabilities[a] as number) || a - b);
  return order.slice(0, Math.max(0, k)).map((i) => ({
    label: labels[i] ?? String(i),
    probability: probabilities[i] as number,
  }));
}
