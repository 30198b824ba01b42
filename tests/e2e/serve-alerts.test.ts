/**
 * configs/monitoring/alerts.yaml is a valid Prometheus rule file whose every metric, label and route is one the
 * service really exposes: the names are taken from the rules' PromQL and looked up in GET /metrics of a running app
 * (with drift monitoring and prediction logging on, as in production).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage, loadYamlWithExtends } from '@tfmlops/core';
import { defaultServeConfig } from '@tfmlops/serve';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/serve/test-app.ts';
import {
  halfImage,
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../support/serve/tiny-bundle.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RULES = join(ROOT, 'configs', 'monitoring', 'alerts.yaml');

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** A selector in a PromQL expression: the metric and its label matchers. */
interface Selector {
  metric: string;
  matchers: Array<{ label: string; op: string; value: string }>;
}

/**
 * The metric selectors of a PromQL expression. Strings, grouping clauses (`by (...)`), ranges (`[5m]`) and function
 * names (an identifier followed by `(`) are not metrics; every other identifier is.
 */
function selectorsOf(expr: string): Selector[] {
  const selectors: Selector[] = [];
  const text = expr
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const identifier = /(?<![\w.:"])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*(\()?/g;
  for (const match of text.matchAll(identifier)) {
    const [, name, braces, call] = match as unknown as [
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    if (call || PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    // Skip identifiers inside a selector's braces (label names) and in string literals: the pattern only matches
    // at a name's start, and braces are consumed with the metric before them.
    const matchers = [...(braces ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map(
      ([, label, op, value]) => ({
        label: label as string,
        op: op as string,
        value: value as string,
      }),
    );
    selectors.push({ metric: name, matchers });
  }
  return selectors;
}

/** Metric families in Prometheus text (from `# TYPE`), with the sample names each one answers to. */
function families(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm))
    types.set(name as string, type as string);
  return types;
}

function sampleNames(types: Map<string, string>): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of types) {
    names.add(name);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

const storage = createStorage();
let dir: string;
let trained: tfl.LayersModel;
let service: TestApp;

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-alerts-'));
  trained = await trainTinyModel();
  const published = await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage);
  service = await buildTestApp(
    {
      modelUri: published.latestUri!,
      predictionLog: { ...defaultServeConfig().predictionLog, uri: join(dir, 'log') },
    },
    storage,
  );
  // One answer and one refusal, so the labelled series exist.
  await service.app.inject({
    method: 'POST',
    url: '/predict',
    payload: await halfImage('top'),
    headers: { 'content-type': 'image/png' },
  });
  await service.app.inject({
    method: 'POST',
    url: '/predict',
    payload: Buffer.from('not an image'),
    headers: { 'content-type': 'image/png' },
  });
});

afterAll(async () => {
  await service?.app.close();
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('configs/monitoring/alerts.yaml', () => {
  const document = loadYamlWithExtends(RULES).value as { groups: Array<{ name: string; rules: Rule[] }> };
  const rules = document.groups.flatMap((group) => group.rules);

  it('is a Prometheus rule file: named groups of alerts with an expression, a duration, a severity and a summary', () => {
    expect(document.groups.length).toBeGreaterThan(0);
    const names = new Set<string>();
    for (const group of document.groups) {
      expect(group.name).toMatch(/\S/);
      for (const rule of group.rules) {
        expect(Object.keys(rule).sort(), rule.alert).toEqual([
          'alert',
          'annotations',
          'expr',
          'for',
          'labels',
        ]);
        expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
        expect(names.has(rule.alert), `${rule.alert} twice`).toBe(false);
        names.add(rule.alert);
        expect(rule.for).toMatch(/^\d+[smhd]$/);
        expect(['page', 'ticket']).toContain(rule.labels.severity);
        expect(rule.annotations.summary).toMatch(/\S/);
        // Balanced brackets: a typo here would only show when Prometheus loads the file.
        for (const [open, close] of ['()', '{}', '[]']) {
          expect(rule.expr.split(open!).length, `${rule.alert}: ${open}${close}`).toBe(
            rule.expr.split(close!).length,
          );
        }
      }
    }
    // What the issue asks alerts for: errors, p99, drift flags, reload failures.
    expect([...names]).toEqual(
      expect.arrayContaining([
        'InferenceErrorRateHigh',
        'InferenceLatencyP99High',
        'DataDriftDetected',
        'ModelReloadFailed',
      ]),
    );
    const drift = rules.find((rule) => rule.alert === 'DataDriftDetected')!;
    expect(drift.expr).toContain('drift_detected');
    // Sustained: one drifting window does not page anyone.
    expect(Number.parseInt(drift.for, 10)).toBeGreaterThan(0);
  });

  it('names only metrics, labels and routes the service exposes on GET /metrics', async () => {
    const text = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    const types = families(text);
    const exposed = sampleNames(types);
    const registry = service.app.serving.metrics.registry;
    const routes = new Set(
      Object.keys((await service.app.inject({ method: 'GET', url: '/docs/json' })).json().paths).map((path) =>
        path.replace(/\{(\w+)\}/g, ':$1'),
      ),
    );
    const checked: string[] = [];
    for (const rule of rules) {
      const selectors = selectorsOf(rule.expr);
      expect(selectors.length, rule.alert).toBeGreaterThan(0);
      for (const { metric, matchers } of selectors) {
        expect(exposed.has(metric), `${rule.alert} names ${metric}, which GET /metrics does not have`).toBe(
          true,
        );
        const family = [...types.keys()].find((name) => metric === name || metric.startsWith(`${name}_`))!;
        const labelNames = [
          ...((registry.getSingleMetric(family) as unknown as { labelNames?: string[] }).labelNames ?? []),
          ...(types.get(family) === 'histogram' ? ['le'] : []),
        ];
        for (const { label, op, value } of matchers) {
          expect(labelNames, `${rule.alert}: ${metric} has no label ${label}`).toContain(label);
          if (label === 'route' && op === '=~') {
            for (const route of value.split('|'))
              expect(routes, `${rule.alert}: no route ${route}`).toContain(route);
          }
        }
        for (const [, label] of `${rule.annotations.summary} ${rule.annotations.description ?? ''}`.matchAll(
          /\$labels\.(\w+)/g,
        )) {
          expect(labelNames, `${rule.alert}: annotation uses $labels.${label}`).toContain(label);
        }
        checked.push(metric);
      }
    }
    expect(new Set(checked)).toEqual(
      new Set([
        'http_requests_total',
        'http_request_duration_seconds_bucket',
        'prediction_rejected_total',
        'drift_detected',
        'drift_evaluations_total',
        'model_reload_failures_total',
        'prediction_log_records_total',
      ]),
    );
  });

  it('the PromQL reader finds what it should (so the check above cannot pass by finding nothing)', () => {
    expect(
      selectorsOf(
        'sum by (le) (rate(x_bucket{route=~"/a|/b", le!="1"}[5m])) / on(job) y > bool 0.5e-3 and z',
      ),
    ).toEqual([
      {
        metric: 'x_bucket',
        matchers: [
          { label: 'route', op: '=~', value: '/a|/b' },
          { label: 'le', op: '!=', value: '1' },
        ],
      },
      { metric: 'y', matchers: [] },
      { metric: 'z', matchers: [] },
    ]);
  });
});
