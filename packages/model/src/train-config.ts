import { z } from 'zod';

/** Metrics the loop computes every epoch, usable for early stopping and for picking the best checkpoint. */
export const MONITORED_METRICS = ['val_loss', 'val_accuracy', 'loss', 'accuracy'] as const;
export type MonitoredMetric = (typeof MONITORED_METRICS)[number];

export const OPTIMIZERS = ['adam', 'adamw', 'sgd', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export const optimizerConfigSchema = z
  .strictObject({
    name: z
      .enum(OPTIMIZERS)
      .default('adam')
      .describe(
        'adam, adamw (Adam with decoupled weight decay), sgd (plain, with momentum, or Nesterov) or rmsprop',
      ),
    weightDecay: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'adamw: decoupled decay, w -= lr * weightDecay * w each step (PyTorch AdamW; 0.01 is usual). adam, sgd, rmsprop: an L2 penalty added to the gradient (PyTorch weight_decay). Either way only kernels and embeddings decay, not biases or norm parameters (as timm and Hugging Face group them)',
      ),
    momentum: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe('sgd and rmsprop only: momentum factor (0 = none; 0.9 is usual for sgd)'),
    nesterov: z
      .boolean()
      .default(false)
      .describe('sgd only: Nesterov momentum (PyTorch form); needs momentum > 0'),
    beta1: z
      .number()
      .min(0)
      .lt(1)
      .default(0.9)
      .describe('adam and adamw: decay of the first-moment estimate'),
    beta2: z
      .number()
      .min(0)
      .lt(1)
      .default(0.999)
      .describe('adam and adamw: decay of the second-moment estimate'),
    epsilon: z
      .number()
      .positive()
      .max(1)
      .default(1e-7)
      .describe('adam, adamw and rmsprop: added to the denominator for stability (TF.js default)'),
    rho: z.number().min(0).lt(1).default(0.9).describe('rmsprop only: decay of the squared-gradient average'),
  })
  .superRefine((optimizer, context) => {
    if (optimizer.momentum > 0 && optimizer.name !== 'sgd' && optimizer.name !== 'rmsprop') {
      context.addIssue({
        code: 'custom',
        path: ['momentum'],
        message: `momentum applies to sgd and rmsprop, not ${optimizer.name} (Adam has beta1)`,
        input: optimizer.momentum,
      });
    }
    if (optimizer.nesterov && (optimizer.name !== 'sgd' || optimizer.momentum === 0)) {
      context.addIssue({
        code: 'custom',
        path: ['nesterov'],
        message: 'nesterov needs name: sgd and momentum > 0 (e.g. momentum: 0.9)',
        input: optimizer.nesterov,
      });
    }
  })
  .prefault({})
  .describe('The optimizer. Its learning rate is train.learningRate, shaped by train.schedule');
export type OptimizerConfig = z.output<typeof optimizerConfigSchema>;

export const SCHEDULES = ['constant', 'step', 'cosine'] as const;

export const scheduleConfigSchema = z
  .strictObject({
    name: z
      .enum(SCHEDULES)
      .default('constant')
      .describe(
        'constant; step (multiplied by gamma every stepEpochs epochs); cosine (from learningRate down to minLearningRate over the run after warmup). Applied every step',
      ),
    warmupEpochs: z
      .number()
      .min(0)
      .max(1000)
      .default(0)
      .describe(
        'Linear warmup from 0 to learningRate over this many epochs (fractions allowed: 0.5 = half an epoch)',
      ),
    stepEpochs: z.number().int().positive().default(1).describe('step only: epochs between decays'),
    gamma: z.number().positive().max(1).default(0.1).describe('step only: factor applied at each decay'),
    minLearningRate: z
      .number()
      .min(0)
      .default(0)
      .describe('cosine only: the learning rate reached at the last step'),
  })
  .prefault({})
  .describe('Learning-rate schedule, evaluated at every optimizer step');
export type ScheduleConfig = z.output<typeof scheduleConfigSchema>;

export const earlyStoppingConfigSchema = z
  .strictObject({
    metric: z.enum(MONITORED_METRICS).default('val_loss').describe('Metric watched after each epoch'),
    mode: z
      .enum(['auto', 'min', 'max'])
      .default('auto')
      .describe('Whether lower or higher is better; auto: min for losses, max for accuracies'),
    patience: z
      .number()
      .int()
      .positive()
      .max(1000)
      .default(3)
      .describe('Epochs without improvement before training stops'),
    minDelta: z.number().min(0).default(0).describe('Smallest change that counts as an improvement'),
  })
  .optional()
  .describe('Stop when the metric stops improving; leave the section out to train every epoch');
export type EarlyStoppingConfig = z.output<typeof earlyStoppingConfigSchema>;

export const augmentationConfigSchema = z
  .strictObject({
    shift: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(0)
      .describe('Random translation by up to this many pixels on each axis, edges repeated (0 = off)'),
    crop: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(0)
      .describe('Pad by this many black pixels and random-crop back to size, CIFAR-style (0 = off)'),
    flip: z
      .boolean()
      .default(false)
      .describe('Random left-right mirror; refused for MNIST (a mirrored digit is not that digit)'),
    brightness: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('Random brightness offset up to this fraction of the pixel range, per image (0 = off)'),
    contrast: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('Random contrast factor in [1 - contrast, 1 + contrast], per image (0 = off)'),
  })
  .prefault({})
  .describe(
    'Training-split augmentation, seeded from train.seed (validation and test images are never changed)',
  );
export type AugmentationConfig = z.output<typeof augmentationConfigSchema>;

export const checkpointConfigSchema = z
  .strictObject({
    keepLast: z
      .number()
      .int()
      .positive()
      .max(1000)
      .default(2)
      .describe('Checkpoints kept besides the best one (one is written after every epoch)'),
    keepBest: z.boolean().default(true).describe('Also keep the checkpoint with the best `metric`'),
    metric: z
      .enum(MONITORED_METRICS)
      .default('val_accuracy')
      .describe('What "best" means (losses lower, accuracies higher)'),
  })
  .prefault({})
  .describe(
    "Checkpoints under the run's checkpoints/ directory; `pnpm train --resume <run-dir>` continues from the newest",
  );
export type CheckpointConfig = z.output<typeof checkpointConfigSchema>;

/** `train:` section of an experiment file: the optimisation loop. */
export const trainConfigSchema = z
  .strictObject({
    epochs: z.number().int().positive().max(100_000).default(2).describe('Passes over the training split'),
    batchSize: z.number().int().positive().max(65_536).default(64).describe('Images per optimizer step'),
    learningRate: z
      .number()
      .positive()
      .max(10)
      .default(0.001)
      .describe('Peak learning rate (what the schedule starts from after warmup)'),
    optimizer: optimizerConfigSchema,
    schedule: scheduleConfigSchema,
    labelSmoothing: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe('Cross-entropy label smoothing: targets become (1 - s) one-hot + s / classes'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(42)
      .describe(
        'Seeds weight initialisation, the shuffle and augmentation (the split has its own data.split.seed)',
      ),
    earlyStopping: earlyStoppingConfigSchema,
    augmentation: augmentationConfigSchema,
    checkpoint: checkpointConfigSchema,
    evaluation: z
      .strictObject({
        pictures: z
          .boolean()
          .default(true)
          .describe(
            'Write the evaluation PNGs (confusion matrix, reliability diagram, worst misclassified, curves)',
          ),
      })
      .prefault({})
      .describe('What the evaluation at the end of the run writes'),
    outputDir: z
      .string()
      .min(1)
      .default('runs')
      .describe(
        'Root of run directories: <outputDir>/<name>/<timestamp>-<id>/ (a local path or gs:// prefix)',
      ),
  })
  .prefault({})
  .describe('The training loop');
export type TrainConfig = z.output<typeof trainConfigSchema>;
