// dockerfiles/sweep-agent.dockerfile (the trainer image plus W&B's `wandb agent`) and the Vertex AI job that runs it,
// read statically: the image cannot be built here (PyPI is unreachable), so what can be checked is that it extends
// the trainer image it is given, pins the agent, starts it as the entrypoint, and that the job spec and the commands
// in its header name this image.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { execForm, lastInstruction, readDockerfile } from './dockerfile.ts';
import { readRepoFile } from './repo.ts';

const DOCKERFILE = 'dockerfiles/sweep-agent.dockerfile';
const SPEC = 'configs/cloud/vertex-sweep-agent.yaml';

describe(DOCKERFILE, () => {
  const dockerfile = readDockerfile(DOCKERFILE);
  const [stage, ...more] = dockerfile.stages;

  it('is one stage FROM the trainer image given as the TRAINER_IMAGE build argument', () => {
    expect(more).toEqual([]);
    expect(stage!.image).toBe('${TRAINER_IMAGE}');
    expect(dockerfile.defaults.get('TRAINER_IMAGE')).toMatch(/(^|\/)trainer:[\w.-]+$/);
    // Everything the trainings need comes from the trainer image: nothing is copied from the context.
    expect(dockerfile.contextCopies(stage!)).toEqual([]);
  });

  it('installs python3 and an exactly pinned wandb, and starts `wandb agent` under the trainer image’s tini', () => {
    const version = stage!.instructions
      .filter((i) => i.getKeyword() === 'ARG')
      .map((i) => /^WANDB_VERSION=(.+)$/.exec(i.getArgumentsContent() ?? '')?.[1])
      .find(Boolean);
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    const run = stage!.instructions
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent() ?? '')
      .join('\n');
    expect(run).toMatch(/apt-get install[^\n]*\bpython3\b/);
    expect(run).toContain('pip install --no-cache-dir "wandb==${WANDB_VERSION}"');
    expect(execForm(lastInstruction(stage!, 'ENTRYPOINT')!)).toEqual([
      '/usr/bin/tini',
      '--',
      'wandb',
      'agent',
    ]);
    // tini is the trainer's (installed there, not here).
    expect(readRepoFile('dockerfiles/trainer.dockerfile')).toMatch(/apt-get install[^\n]*\btini\b/);
  });

  it('says it is not built here and why', () => {
    expect(readRepoFile(DOCKERFILE)).toMatch(/PyPI[^\n]*unreachable/);
  });
});

describe(SPEC, () => {
  // biome-ignore lint/suspicious/noExplicitAny: the spec is checked field by field
  const job: any = parse(readRepoFile(SPEC));
  const [pool] = job.workerPoolSpecs;
  const header = readRepoFile(SPEC)
    .split('\n')
    .filter((line) => line.startsWith('#'))
    .map((line) => line.replace(/^#\s?/, ''))
    .join('\n')
    .replace(/\s*\\\n\s*/g, ' ');
  // The trainer image as the training job names it: the agent image sits beside it in the same repository.
  const trainerImage: string = parse(readRepoFile('configs/cloud/vertex-train-job.yaml')).workerPoolSpecs[0]
    .containerSpec.imageUri;

  it('runs the sweep-agent image, beside the trainer image in the same Artifact Registry repository', () => {
    expect(trainerImage).toMatch(/\/trainer:[\w.-]+$/);
    expect(pool.containerSpec.imageUri).toBe(trainerImage.replace(/\/trainer:/, '/sweep-agent:'));
  });

  it("passes the agent's arguments only (the image's entrypoint is `wandb agent`) and no API key", () => {
    expect(pool.containerSpec.args).toEqual(['--count', '4', 'SWEEP_PATH']);
    expect(pool.containerSpec.env.map((e: { name: string }) => e.name)).not.toContain('WANDB_API_KEY');
  });

  it('its header builds and pushes that image from the Dockerfile, on the trainer image, before starting jobs', () => {
    expect(header).toContain(
      `docker build -f ${DOCKERFILE} --build-arg TRAINER_IMAGE=${trainerImage} -t ${pool.containerSpec.imageUri} .`,
    );
    expect(header).toContain(`docker push ${pool.containerSpec.imageUri}`);
    expect(header).toMatch(/gcloud ai custom-jobs create --region REGION --display-name \S+ --config \S+/);
  });
});
