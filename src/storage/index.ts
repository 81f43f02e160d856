/** Export of records to S3-compatible storage or a local folder: the public API. */
export { StorageSink } from './storage-sink.js';
export { STORAGE_DEFAULTS, storageOptionsFromFlags, validateStorageOptions, type StorageFlags, type StorageOptions } from './options.js';
export { storageStats, storageSummaryLines, type StorageCloseResult, type StorageStatus } from './status.js';
export type { StorageFormat } from './layout.js';
export type { RetryPolicy } from './backoff.js';
