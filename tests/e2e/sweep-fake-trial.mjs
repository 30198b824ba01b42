// A stand-in for `pnpm train` in sweep tests: it takes the same command line (--config FILE, key.path=value
// overrides, --resume RUN_DIR), writes what the training loop writes (a run directory with metrics.jsonl, one line
// per epoch, summary.json at the end, a "bundle" under export.uri) and answers SIGTERM the same way (checkpoint,
// exit 143). Its validation accuracy is a smooth function of the learning rate and batch size, so sweeps have a
// known best. Plain Node (no tsx) so a trial starts in tens of milliseconds.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const overrides = {};
let configFile;
let resume;
for (let i = 0; i < argv.length; i += 1) {
  if (argv[i] === '--config') configFile = argv[++i];
  else if (argv[i] === '--resume') resume = argv[++i];
  else if (argv[i].includes('=')) {
    const at = argv[i].indexOf('=');
    overrides[argv[i].slice(0, at)] = argv[i].slice(at + 1);
  } else {
    process.stderr.write(`fake trial: unexpected argument ${argv[i]}\n`);
    process.exit(2);
  }
}
// As pnpm train: a new run takes --config, a resumed one --resume (its own config.yaml), never both.
if (Boolean(configFile) === Boolean(resume)) {
  process.stderr.write('fake trial: give either --config or --resume\n');
  process.exit(2);
}
const lr = Number(overrides['train.learningRate'] ?? 0.001);
const batch = Number(overrides['train.batchSize'] ?? 64);
const epochs = Number(overrides['train.epochs'] ?? 3);
const epochMs = Number(process.env.FAKE_EPOCH_MS ?? 40);
const outputDir = overrides['train.outputDir'] ?? 'runs';
const exportUri = overrides['export.uri'];

// Best at lr = 1e-3 and batch 64; a slow rise over epochs.
const quality = Math.exp(-((Math.log10(lr) + 3) ** 2) / 0.8 - (Math.log2(batch) - 6) ** 2 / 8);
const accuracyAt = (epoch) => 0.5 + 0.45 * quality * (1 - 0.5 ** epoch);

let runDir = resume;
let start = 0;
if (runDir) {
  const checkpoints = readdirSync(join(runDir, 'checkpoints')).map((name) =>
    Number(name.replace('epoch-', '')),
  );
  start = Math.max(...checkpoints);
} else {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15);
  runDir = join(outputDir, 'fake', `${stamp}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(
    join(runDir, 'config.yaml'),
    `# ${configFile}\n${Object.entries(overrides)
      .map(([k, v]) => `# ${k}=${v}`)
      .join('\n')}\n`,
  );
}
appendFileSync(
  join(runDir, 'invocations.jsonl'),
  `${JSON.stringify({ argv, env: { WANDB_RUN_ID: process.env.WANDB_RUN_ID, WANDB_SWEEP_ID: process.env.WANDB_SWEEP_ID ?? null, WANDB_RUN_GROUP: process.env.WANDB_RUN_GROUP ?? null } })}\n`,
);
console.log(
  `fake trial: lr=${lr} batch=${batch} epochs=${epochs} run=${runDir}${resume ? ` (resumed at epoch ${start})` : ''}`,
);

let epoch = start;
/** The last epoch whose line is written: what a checkpoint holds. */
let completed = start;
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  mkdirSync(join(runDir, 'checkpoints'), { recursive: true });
  writeFileSync(join(runDir, 'checkpoints', `epoch-${completed}`), 'weights');
  console.log(`fake trial: SIGTERM after epoch ${completed}, checkpoint written`);
  process.exit(143);
});

const crashAt = process.env.FAKE_CRASH_BATCH ? Number(process.env.FAKE_CRASH_BATCH) : undefined;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
for (epoch = start + 1; epoch <= epochs; epoch += 1) {
  await sleep(epochMs);
  if (crashAt === batch) {
    process.stderr.write(`fake trial: out of memory at batch size ${batch}\n`);
    process.exit(1);
  }
  const accuracy = accuracyAt(epoch);
  appendFileSync(
    join(runDir, 'metrics.jsonl'),
    `${JSON.stringify({ epoch, loss: 1 - accuracy, accuracy, val_loss: 1.05 - accuracy, val_accuracy: accuracy, lr, images_per_second: 1000, seconds: epochMs / 1000 })}\n`,
  );
  completed = epoch;
}
epoch = epochs;
let modelUri = join(runDir, 'model');
if (exportUri) {
  modelUri = join(exportUri, 'fake', `v${Date.now()}`);
  mkdirSync(modelUri, { recursive: true });
  writeFileSync(join(modelUri, 'bundle.json'), '{}\n');
  writeFileSync(join(exportUri, 'fake', 'latest.json'), JSON.stringify({ path: modelUri }));
}
writeFileSync(
  join(runDir, 'summary.json'),
  JSON.stringify({ test_accuracy: accuracyAt(epochs) - 0.01, epochs, model_uri: modelUri, backend: 'fake' }),
);
if (!existsSync(modelUri)) mkdirSync(modelUri, { recursive: true });
console.log('fake trial: done');
