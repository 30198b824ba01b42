// Filled by the config module: YAML loading with extends, overrides, env interpolation, schema composition.
export {};
