export { GcsEmulator, type LoggedRequest } from './emulator.ts';
export type { FaultRule } from './faults.ts';
export { crc32cBase64, md5Base64 } from './hashes.ts';
