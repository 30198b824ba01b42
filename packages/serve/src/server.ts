/**
 * `pnpm serve`: the inference service process. The Fastify app (POST /predict from a model bundle) arrives with
 * the serving milestone; until then this entry point says so instead of failing obscurely.
 */
process.stderr.write(
  'pnpm serve: the inference service is not built yet (serving milestone). Train a model with `pnpm train --config configs/exp1.yaml`; its run directory holds the TF.js model the service will load.\n',
);
process.exitCode = 1;
