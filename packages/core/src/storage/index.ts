export { createStorage, type StorageOptions } from './create-storage.ts';
export type { GcsOptions } from './gcs-storage.ts';
export type { Storage, StorageEntry, WriteOptions } from './types.ts';
export { isGcsUri, joinUri, type ParsedUri, parseUri } from './uri.ts';
