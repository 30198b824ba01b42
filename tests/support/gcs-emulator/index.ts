export { GcsEmulator, type LoggedRequest } from './emulator.ts';
export type { FaultRule } from './faults.ts';
