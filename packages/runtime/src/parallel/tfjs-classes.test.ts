import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { TFJS_SERIALIZABLE_CLASSES } from './tfjs-classes.ts';

it('lists exactly the classes a fresh thread knows once tfjs-core and tfjs-layers are imported', async () => {
  // A plain thread (no tsx, no code of ours) with this package's copies of tfjs, as a gradient worker has them.
  const require = createRequire(import.meta.url);
  const [core, layers] = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers'].map((name) =>
    require.resolve(name),
  );
  const worker = new Worker(
    `const core = require(${JSON.stringify(core)}); require(${JSON.stringify(layers)});
     require('node:worker_threads').parentPort.postMessage(Object.keys(core.serialization.SerializationMap.getMap().classNameMap));`,
    { eval: true },
  );
  try {
    const [registered] = (await once(worker, 'message')) as [string[]];
    expect(registered).toContain('Conv2D');
    expect([...TFJS_SERIALIZABLE_CLASSES].sort()).toEqual([...registered].sort());
  } finally {
    await worker.terminate();
  }
});
