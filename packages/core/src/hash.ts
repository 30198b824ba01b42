import { createHash } from 'node:crypto';

/** SHA-256 of bytes or text, lowercase hex: the checksum of every dataset shard, bundle file and dataset version. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
