/**
 * Layer names every architecture gives its last two layers, pretrained heads included. Drift monitoring reads
 * penultimate-layer embeddings from `embedding` (the layer whose output feeds the classifier), and inference and
 * fine-tuning find the classifier as `logits` (class scores before softmax).
 */
export const MODEL_LAYER_NAMES = { embedding: 'embedding', logits: 'logits' } as const;
