export type { Storage, StorageEntry, WriteOptions } from './types.ts';
