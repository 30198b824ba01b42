export {
  type StoredRun,
  type WandbFault,
  type WandbRequest,
  WandbServer,
  type WandbServerOptions,
} from './server.ts';
