// Reads what validation needs from a LayersModel's model.json without building the model: layer names, the
// input shape, and which layers carry weights. Handles tfjs's Sequential and functional ('Model'/'Functional')
// topologies, bare or wrapped in Keras's {model_config: ...}.

type Json = Record<string, unknown>;

export interface TopologyLayer {
  name: string;
  className: string;
  /** Names of the layers feeding this one (empty for inputs and for the first layer of a Sequential). */
  inbound: string[];
}

export interface TopologySummary {
  layers: TopologyLayer[];
  /** [height, width, channels] without the batch axis, when model.json states it. */
  inputShape: Array<number | null> | undefined;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Layer list and input shape of a model topology; undefined when it is not a Sequential or functional model. */
export function summarizeTopology(modelTopology: unknown): TopologySummary | undefined {
  if (!isObject(modelTopology)) return undefined;
  const top = isObject(modelTopology.model_config) ? modelTopology.model_config : modelTopology;
  const className = top.class_name;
  const config = top.config;
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (typeof className !== 'string' || !Array.isArray(rawLayers)) return undefined;
  const sequential = className === 'Sequential';
  const layers: TopologyLayer[] = [];
  for (const [index, raw] of rawLayers.entries()) {
    if (!isObject(raw)) return undefined;
    const layerConfig = isObject(raw.config) ? raw.config : {};
    const name = typeof raw.name === 'string' ? raw.name : layerConfig.name;
    if (typeof name !== 'string' || typeof raw.class_name !== 'string') return undefined;
    const previous = layers[index - 1];
    const inbound = sequential ? (previous ? [previous.name] : []) : inboundNames(raw.inbound_nodes);
    layers.push({ name, className: raw.class_name, inbound });
  }
  return { layers, inputShape: inputShapeOf(top, rawLayers as Json[], sequential) };
}

/** The names of `layerName` and every layer it depends on, in model order. */
export function ancestorsOf(summary: TopologySummary, layerName: string): TopologyLayer[] {
  const byName = new Map(summary.layers.map((layer) => [layer.name, layer]));
  const seen = new Set<string>();
  const stack = [layerName];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    stack.push(...(byName.get(name)?.inbound ?? []));
  }
  return summary.layers.filter((layer) => seen.has(layer.name));
}

/** Layer names that own weights, from a weights manifest (weight names are `<layer>/<weight>`). */
export function weightedLayerNames(weightsManifest: unknown): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(weightsManifest)) return names;
  for (const group of weightsManifest) {
    if (!isObject(group) || !Array.isArray(group.weights)) continue;
    for (const spec of group.weights) {
      if (isObject(spec) && typeof spec.name === 'string') names.add(spec.name.split('/')[0]!);
    }
  }
  return names;
}

function inboundNames(inboundNodes: unknown): string[] {
  if (!Array.isArray(inboundNodes)) return [];
  const names: string[] = [];
  for (const node of inboundNodes) {
    // tfjs: [[layerName, nodeIndex, tensorIndex, kwargs], ...] per node; Keras 3 nests them under args.
    if (!Array.isArray(node)) continue;
    for (const entry of node) {
      if (Array.isArray(entry) && typeof entry[0] === 'string') names.push(entry[0]);
    }
  }
  return names;
}

function batchShapeOf(layerConfig: unknown): Array<number | null> | undefined {
  if (!isObject(layerConfig)) return undefined;
  const shape = layerConfig.batch_input_shape ?? layerConfig.batch_shape;
  return Array.isArray(shape) ? (shape.slice(1) as Array<number | null>) : undefined;
}

function inputShapeOf(top: Json, rawLayers: Json[], sequential: boolean): Array<number | null> | undefined {
  if (sequential) return batchShapeOf(rawLayers[0]?.config);
  const config = isObject(top.config) ? top.config : {};
  const inputs = config.input_layers;
  const first = Array.isArray(inputs) ? (Array.isArray(inputs[0]) ? inputs[0][0] : inputs[0]) : undefined;
  const layer = rawLayers.find(
    (raw) => raw.name === first || (isObject(raw.config) && raw.config.name === first),
  );
  return batchShapeOf(layer?.config);
}
