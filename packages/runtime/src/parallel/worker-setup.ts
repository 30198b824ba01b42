/**
 * What a data-parallel worker must know to rebuild a model from its JSON: every class the JSON names (layers,
 * initializers, constraints, regularizers) registered with tfjs's serialization. tfjs-core and tfjs-layers register
 * their own when imported; anything else (a package's custom layers) is registered by the setup modules the trainer
 * is given, which each worker runs before it builds its replica.
 */

/** Code each gradient worker runs before it rebuilds the model: how custom layer classes get there. */
export interface WorkerSetup {
  /**
   * A module exporting `setupWorker(): void | Promise<void>` that registers classes with
   * `tf.serialization.registerClass`. Each worker imports it and calls `setupWorker` once, before building its
   * replica. A `.ts` module works: workers load modules through tsx.
   */
  module: URL;
  /** The class names (`static className`) `setupWorker` registers: what planDataParallel may count on. */
  layerClasses: readonly string[];
}

/** A class a serialized model names, and the layer that uses it (none for a model's own class). */
export interface SerializedClass {
  className: string;
  layer?: string;
}

/**
 * Every class a model's JSON (`model.toJSON(null, false)`, the topology the workers are sent) names, in order of
 * appearance, each with the first layer it appears in: layers of nested models and wrapped layers included, and the
 * initializers, constraints and regularizers of each layer.
 */
export function serializedClasses(topology: unknown): SerializedClass[] {
  const found = new Map<string, SerializedClass>();
  const visit = (value: unknown, layer: string | undefined): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, layer);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as { class_name?: unknown; config?: { name?: unknown } };
    let inside = layer;
    if (typeof object.class_name === 'string') {
      const name = object.config?.name;
      // Layers (and models) have a name in their config; initializers and the like do not.
      if (typeof name === 'string') inside = name;
      if (!found.has(object.class_name))
        found.set(object.class_name, { className: object.class_name, layer: inside });
    }
    for (const child of Object.values(object)) visit(child, inside);
  };
  visit(topology, undefined);
  return [...found.values()];
}

/** "layer 'cls_token' is a ClassToken" or, for a class outside any layer, "class Foo". */
export function describeClass({ className, layer }: SerializedClass): string {
  return layer === undefined ? `class ${className}` : `layer '${layer}' is a ${className}`;
}
