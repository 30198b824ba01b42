// The serve package: a Fastify plugin answering POST /predict from a model bundle (see issues for the serving milestone).
export {};
