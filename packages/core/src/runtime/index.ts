// Filled by the runtime module: backend selection, wasm training kernels, doctor.
export {};
