import { formatValue } from './results.ts';
import type { SweepState } from './sweep-state.ts';

/**
 * The sweep as a table for a terminal: one row per trial (parameters, epochs so far, metric, status) under a header
 * line with counts and the best so far. Pure text; the CLI redraws it in place.
 */
export function renderTable(
  state: SweepState,
  parameters: readonly string[],
  metric: { name: string; goal: string } | undefined,
  width = 120,
  height = Number.POSITIVE_INFINITY,
): string[] {
  const metricName = metric?.name ?? 'metric';
  const header = ['trial', ...parameters.map(shortName), 'epoch', metricName, 'status'];
  const rows = state.trials.map((t) => [
    t.id,
    ...parameters.map((p) => formatValue(t.params[p])),
    String(t.epochs),
    formatValue(t.metric),
    t.status === 'stopped' ? 'stopped (hyperband)' : t.status === 'failed' ? `failed: ${t.log}` : t.status,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    truncate(cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  '), width);
  const done = state.trials.filter((t) => t.status !== 'running').length;
  const values = state.trials
    .filter((t) => t.status === 'finished' && t.metric !== null)
    .map((t) => t.metric!);
  const best =
    values.length === 0 ? undefined : metric?.goal === 'maximize' ? Math.max(...values) : Math.min(...values);
  return [
    truncate(
      `sweep ${state.name}/${state.id} · ${state.method} · ${done}/${state.trialCount} trials done · ` +
        `${state.trials.filter((t) => t.status === 'running').length} running · best ${metricName} ${formatValue(best)}`,
      width,
    ),
    line(header),
    ...fit(rows.map(line), height - 2),
  ];
}

/** A redraw taller than the terminal cannot move back over itself: the latest rows, under a count of the rest. */
function fit(lines: string[], room: number): string[] {
  if (lines.length <= room) return lines;
  const kept = Math.max(1, room - 1);
  return [
    `… ${lines.length - kept} earlier trials (all in state.json and, at the end, results.md)`,
    ...lines.slice(-kept),
  ];
}

function shortName(name: string): string {
  return name.split('.').at(-1) ?? name;
}

function truncate(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Redraws lines in place on a TTY: moves up over the previous drawing and clears to the end of the screen. */
export function createRedrawer(write: (text: string) => void): (lines: string[]) => void {
  let previous = 0;
  return (lines) => {
    const up = previous > 0 ? `\x1b[${previous}F` : '';
    write(`${up}\x1b[0J${lines.join('\n')}\n`);
    previous = lines.length;
  };
}
