import { expect } from 'vitest';
import { StorageError } from '../errors.ts';

/** The StorageError a storage call rejects with (the test fails if it resolves or throws anything else). */
export async function failureOf(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}
