// @ts-check
/**
 * Worker thread that owns `@wandb/sdk`. The training process only posts messages here (see protocol.ts), so whatever
 * the SDK does — throw from an event handler (HTTP 4xx on UpsertBucket), retry for many minutes (5xx), wait forever
 * (no answer), install signal handlers — stays in this thread, which the parent can terminate at any time.
 *
 * Plain JavaScript on purpose: a TypeScript worker needs tsx's loader in the thread, which costs 1-2 s of CPU at
 * start (every later import goes through it too) on the machine that is training; this starts in a fraction of that.
 */
import { subscribe } from 'node:diagnostics_channel';
import { parentPort } from 'node:worker_threads';

/** @typedef {import('./protocol.ts').ToWandbWorker} ToWandbWorker */
/** @typedef {import('./protocol.ts').FromWandbWorker} FromWandbWorker */
/** @typedef {Extract<ToWandbWorker, { type: 'init' }>} Init */
/** @typedef {Extract<ToWandbWorker, { type: 'log' }>} Log */
/** @typedef {Extract<ToWandbWorker, { type: 'finish' }>} Finish */
/**
 * @typedef {{ entity: string, project: string, id: string, url(): string,
 *   log(data: Record<string, unknown>, step?: number): void, finish(code?: number): Promise<void> }} SdkRun
 */

/** Events whose listeners decide how a process ends; the SDK's init adds SIGTERM, SIGINT and beforeExit ones. */
const LIFECYCLE_EVENTS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'beforeExit', 'exit'];
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The GraphQL mutation the SDK itself uses to create runs, with the fields its JS release never sends: the sweep and
 * group a run is created in, tags and summary metrics (the SDK has no summary API). Python's SDK creates a sweep's
 * run with `sweep` in its first UpsertBucket, and its public API updates a run's summary the same way.
 */
const UPSERT_RUN = `mutation UpsertBucket($name: String, $project: String, $entity: String, $groupName: String, $sweep: String, $tags: [String!], $summaryMetrics: JSONString) {
  upsertBucket(input: { name: $name, modelName: $project, entityName: $entity, groupName: $groupName, sweep: $sweep, tags: $tags, summaryMetrics: $summaryMetrics }) {
    bucket { id name sweepName }
    inserted
  }
}`;
const VIEWER = 'query Viewer { viewer { id entity } }';

const port = parentPort;
if (!port) throw new Error('wandb-worker.mjs runs in a worker thread');
/** @param {FromWandbWorker} message */
const send = (message) => port.postMessage(message);

// The SDK ignores most HTTP failures (a file_stream 500 just loses history); the http module reports every answer.
subscribe('http.client.response.finish', (message) => {
  const { request, response } =
    /** @type {{ request: import('node:http').ClientRequest, response: import('node:http').IncomingMessage }} */ (
      message
    );
  const status = response.statusCode ?? 0;
  if (status >= 400) send({ type: 'http-error', method: request.method, path: request.path, status });
});

/** @type {Init | undefined} */
let init;
/** @type {SdkRun | undefined} */
let run;
/** @type {Promise<void> | undefined} */
let starting;
/** @type {Log[]} */
const pending = [];
/** What the SDK's own summary holds: the latest value of every logged key. */
/** @type {Record<string, unknown>} */
let lastValues = {};

port.on('message', (/** @type {ToWandbWorker} */ message) => {
  if (message.type === 'init') {
    init = message;
    starting = start(message);
  } else if (message.type === 'log') {
    if (run) log(run, message);
    else pending.push(message);
  } else if (message.type === 'finish') {
    void finish(message);
  }
});

/** @param {Init} message */
async function start(message) {
  // The SDK's own first UpsertBucket knows no sweep or group: create the run in them first, as `wandb agent`'s Python
  // trials do; the SDK's upsert then updates that run. A failure costs the placement, never the run.
  if (message.run.sweep || message.run.group) {
    await createInSweep(message).catch((error) =>
      send({
        type: 'warning',
        message: `creating the run in its W&B sweep/group failed: ${errorText(error)}`,
      }),
    );
  }
  const { default: wandb } = await import('@wandb/sdk');
  const restore = snapshotListeners();
  /** @type {string[]} */
  const removed = [];
  const initializing = /** @type {Promise<SdkRun>} */ (
    wandb.init(
      /** @type {never} */ ({
        id: message.run.id,
        project: message.run.project,
        ...(message.run.entity ? { entity: message.run.entity } : {}),
        name: message.run.name,
        config: message.run.config,
        // Explicit settings: the SDK would otherwise read WANDB_* from the environment itself (or prompt for a key).
        settings: { apiKey: message.apiKey, baseUrl: message.baseUrl, silent: true, offline: false },
      }),
    )
  );
  // init installs its handlers a few microtasks in, then waits on the network: remove them as soon as they exist.
  await new Promise((resolve) => setImmediate(resolve));
  removed.push(...restore());
  try {
    run = await initializing;
  } catch (error) {
    removed.push(...restore());
    send({ type: 'init-failed', error: errorText(error), listenersRemoved: removed });
    return;
  }
  removed.push(...restore());
  const current = run;
  send({
    type: 'ready',
    entity: current.entity,
    project: current.project,
    id: current.id,
    url: current.url(),
    listenersRemoved: removed,
  });
  if (message.run.tags.length > 0) {
    await upsertRun(message, current, { tags: message.run.tags }).catch((error) =>
      send({ type: 'warning', message: `setting the run's tags failed: ${errorText(error)}` }),
    );
  }
  for (const queued of pending.splice(0)) log(current, queued);
}

/**
 * @param {SdkRun} current
 * @param {Log} message
 */
function log(current, message) {
  lastValues = { ...lastValues, ...message.row };
  // The SDK writes _step, _runtime and _timestamp into the object it is given: hand it a copy.
  current.log({ ...message.row }, message.step);
}

/** @param {Finish} message */
async function finish(message) {
  try {
    await starting;
    if (!run || !init) {
      send({ type: 'finished', error: 'the W&B run never started' });
      return;
    }
    await run.finish(message.exitCode);
    // The SDK's own summary holds the last logged values; the final upsert merges the run's summary into them.
    await upsertRun(init, run, { summary: { ...lastValues, ...message.summary } });
    send({ type: 'finished' });
  } catch (error) {
    send({ type: 'finished', error: errorText(error) });
  }
}

/**
 * One UpsertBucket: resolves on HTTP 200 without GraphQL errors, rejects with what went wrong otherwise.
 * @param {Init} settings
 * @param {{ id: string, project: string, entity: string }} current
 * @param {{ tags?: string[], summary?: Record<string, unknown>, sweep?: string, group?: string }} fields
 */
async function upsertRun(settings, current, fields) {
  /** @type {Record<string, unknown>} */
  const variables = { name: current.id, project: current.project, entity: current.entity };
  if (fields.tags) variables.tags = fields.tags;
  if (fields.summary) variables.summaryMetrics = JSON.stringify(fields.summary);
  if (fields.sweep) variables.sweep = fields.sweep;
  if (fields.group) variables.groupName = fields.group;
  await graphql(settings, 'UpsertBucket', UPSERT_RUN, variables);
}

/**
 * Creates the run in its sweep and group before the SDK starts it (the entity from the Viewer query when unset, as
 * the SDK resolves it).
 * @param {Init} message
 */
async function createInSweep(message) {
  let entity = message.run.entity;
  if (!entity) {
    const viewer = /** @type {{ data?: { viewer?: { entity?: string } } }} */ (
      await graphql(message, 'Viewer', VIEWER, {})
    );
    entity = viewer.data?.viewer?.entity;
    if (!entity) throw new Error('the W&B server named no default entity for the API key');
  }
  await upsertRun(
    message,
    { id: message.run.id, project: message.run.project, entity },
    {
      ...(message.run.sweep ? { sweep: message.run.sweep } : {}),
      ...(message.run.group ? { group: message.run.group } : {}),
    },
  );
}

/**
 * One GraphQL request: the parsed body on HTTP 200 without GraphQL errors, else rejects with what went wrong.
 * @param {{ baseUrl: string, apiKey: string }} settings
 * @param {string} operationName
 * @param {string} query
 * @param {Record<string, unknown>} variables
 * @returns {Promise<unknown>}
 */
async function graphql(settings, operationName, query, variables) {
  const response = await fetch(`${settings.baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`api:${settings.apiKey}`).toString('base64')}`,
    },
    body: JSON.stringify({ query, variables, operationName }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`${operationName} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  const body = /** @type {{ errors?: Array<{ message?: string }> }} */ (JSON.parse(text));
  if (body.errors?.length)
    throw new Error(`${operationName} failed: ${body.errors.map((e) => e.message).join('; ')}`);
  return body;
}

/**
 * Remembers the lifecycle listeners of `process`; the returned function removes every one added since and says
 * which events it cleaned (the SDK's init adds handlers it never removes; after them SIGTERM no longer ends a
 * process). Idempotent.
 * @returns {() => string[]}
 */
function snapshotListeners() {
  const before = new Map(LIFECYCLE_EVENTS.map((event) => [event, new Set(process.rawListeners(event))]));
  return () => {
    /** @type {string[]} */
    const removed = [];
    for (const event of LIFECYCLE_EVENTS) {
      for (const listener of process.rawListeners(event)) {
        if (before.get(event)?.has(listener)) continue;
        process.removeListener(event, /** @type {(...args: unknown[]) => void} */ (listener));
        removed.push(event);
      }
    }
    return removed;
  };
}

/** @param {unknown} error */
function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}
