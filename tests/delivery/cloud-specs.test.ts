// configs/cloud: the Cloud Run service and the Vertex AI jobs agree with the images and the code they run, and each
// file names the gcloud command that applies it.
import { kernelSupportFor } from '@tfmlops/runtime';
import { parseServeConfig, serveEnvSchema } from '@tfmlops/serve';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lastInstruction, readDockerfile } from './dockerfile.ts';
import { readRepoFile, repoFiles } from './repo.ts';

// biome-ignore lint/suspicious/noExplicitAny: the specs are checked field by field
const load = (path: string): any => parse(readRepoFile(path));

describe('configs/cloud/cloudrun-service.yaml', () => {
  const path = 'configs/cloud/cloudrun-service.yaml';
  const service = load(path);
  const template = service.spec.template;
  const container = template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e]));
  const apiImage = readDockerfile('dockerfiles/api.dockerfile');

  it('is a Cloud Run (Knative serving v1) service running the API image', () => {
    expect(service.apiVersion).toBe('serving.knative.dev/v1');
    expect(service.kind).toBe('Service');
    expect(container.image).toMatch(/-docker\.pkg\.dev\/[^/]+\/[^/]+\/api:/);
  });

  it('sends traffic to the port the API image exposes, once /readyz answers', () => {
    const exposed = lastInstruction(apiImage.stages.at(-1)!, 'EXPOSE')?.getArgumentsContent();
    expect(String(container.ports[0].containerPort)).toBe(exposed);
    expect(container.startupProbe.httpGet).toEqual({
      path: '/readyz',
      port: container.ports[0].containerPort,
    });
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
  });

  it('sets concurrency, min/max instances, CPU and memory', () => {
    expect(template.spec.containerConcurrency).toBeGreaterThan(1);
    const min = Number(template.metadata.annotations['autoscaling.knative.dev/minScale']);
    const max = Number(template.metadata.annotations['autoscaling.knative.dev/maxScale']);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeGreaterThanOrEqual(Math.max(min, 1));
    expect(container.resources.limits).toEqual({
      cpu: expect.any(String),
      memory: expect.stringMatching(/Gi|Mi/),
    });
  });

  it('loads the model from a bucket (MODEL_URI=gs://...) and leaves PORT to Cloud Run', () => {
    expect(env.MODEL_URI.value).toMatch(/^gs:\/\/[^/]+\/.+\/latest\.json$/);
    expect(env).not.toHaveProperty('PORT');
    // The admin token comes from Secret Manager, not from the file.
    expect(env.ADMIN_TOKEN.valueFrom.secretKeyRef).toBeDefined();
  });

  it('sets only variables the service reads, to values it accepts', () => {
    const known = Object.keys(serveEnvSchema.shape);
    expect(Object.keys(env).filter((name) => !known.includes(name))).toEqual([]);
    const values = Object.fromEntries(
      Object.entries(env).map(([name, e]) => [
        name,
        (e as { value?: string }).value ?? 'a-secret-of-32-characters-at-least',
      ]),
    );
    expect(() =>
      parseServeConfig({ ...values, PORT: String(container.ports[0].containerPort) }),
    ).not.toThrow();
  });

  it('names the gcloud command that applies it', () => {
    expect(readRepoFile(path)).toContain(`gcloud run services replace ${path} --region`);
  });
});

describe.each(repoFiles().filter((f) => /^configs\/cloud\/vertex-.*\.yaml$/.test(f)))('%s', (path) => {
  const job = load(path);
  const [pool] = job.workerPoolSpecs;

  it('runs the trainer image (or the sweep agent built on it) on one GPU that libtensorflow 2.9.1 has machine code for', () => {
    expect(job.workerPoolSpecs).toHaveLength(1);
    expect(pool.replicaCount).toBe(1);
    expect(pool.machineSpec.acceleratorCount).toBe(1);
    expect(pool.containerSpec.imageUri).toMatch(/-docker\.pkg\.dev\/[^/]+\/[^/]+\/(trainer|sweep-agent):/);
    const capability: Record<string, string> = {
      NVIDIA_TESLA_T4: '7.5',
      NVIDIA_TESLA_V100: '7.0',
      NVIDIA_TESLA_P100: '6.0',
      NVIDIA_TESLA_P4: '6.1',
      NVIDIA_TESLA_A100: '8.0',
      NVIDIA_L4: '8.9',
    };
    expect(kernelSupportFor(capability[pool.machineSpec.acceleratorType])).toBe('sass');
  });

  it('runs as the trainer service account, and its header names the gcloud command that starts it', () => {
    expect(job.serviceAccount).toMatch(/^tfmlops-trainer@/);
    expect(readRepoFile(path)).toMatch(/gcloud ai custom-jobs create --region REGION --display-name \S+/);
  });
});

// The training jobs (the sweep agent's job runs `wandb agent`, which starts pnpm train itself).
describe.each(repoFiles().filter((f) => /^configs\/cloud\/vertex-train-job.*\.yaml$/.test(f)))(
  '%s',
  (path) => {
    const job = load(path);
    const [pool] = job.workerPoolSpecs;

    it('trains an experiment of the repository and writes runs and bundles to the bucket', () => {
      const args: string[] = pool.containerSpec.args;
      const config = args[args.indexOf('--config') + 1]!;
      expect(repoFiles()).toContain(config);
      expect(args).toContain('train.outputDir=gs://BUCKET/runs');
      expect(args).toContain('export.uri=gs://BUCKET/models');
      expect(pool.containerSpec.env).toContainEqual({ name: 'TFMLOPS_BACKEND', value: 'tensorflow-gpu' });
    });

    it('names the gcloud command that applies it', () => {
      expect(readRepoFile(path)).toMatch(
        new RegExp(
          `gcloud ai custom-jobs create --region REGION --display-name \\S+ (\\\\\\n#\\s+)?--config ${path}`,
        ),
      );
    });
  },
);
