export { createStorage, type StorageOptions } from './create-storage.ts';
export type { GcsOptions, GcsRetryOptions } from './gcs-client.ts';
export type { Storage, StorageEntry, WriteOptions } from './types.ts';
export { isGcsUri, joinUri, type ParsedUri, parentUri, parseGcsUri, parseUri } from './uri.ts';
