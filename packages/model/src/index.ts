// The model package: architectures, training, evaluation, bundles, tracking (see issues for the training milestone).
export {};
