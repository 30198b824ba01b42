export { type DownloadOptions, type DownloadResult, download } from './download.ts';
export type { FetchLike } from './fetch-to-file.ts';
export { sha256File } from './file-hash.ts';
export { formatBytes, type ProgressMode, type ProgressOptions } from './progress.ts';
