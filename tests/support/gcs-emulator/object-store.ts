import { crc32cBase64, md5Base64 } from './hashes.ts';

/** An error the emulator answers in the GCS JSON error shape (`{ error: { code, message, errors: [...] } }`). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export interface StoredObject {
  data: Buffer;
  generation: number;
  metageneration: number;
  contentType: string;
  created: string;
  crc32c: string;
  md5Hash: string;
}

/** The precondition query parameters GCS accepts on object requests. */
export interface Preconditions {
  ifGenerationMatch?: number;
  ifGenerationNotMatch?: number;
  ifMetagenerationMatch?: number;
}

export function preconditionsFrom(query: Record<string, string>): Preconditions {
  const read = (key: string) => (query[key] === undefined ? undefined : Number(query[key]));
  const out: Preconditions = {};
  const match = read('ifGenerationMatch');
  const notMatch = read('ifGenerationNotMatch');
  const metaMatch = read('ifMetagenerationMatch');
  if (match !== undefined) out.ifGenerationMatch = match;
  if (notMatch !== undefined) out.ifGenerationNotMatch = notMatch;
  if (metaMatch !== undefined) out.ifMetagenerationMatch = metaMatch;
  return out;
}

/** Throws 412 like GCS when `existing` does not satisfy the preconditions; generation 0 means "does not exist". */
export function checkPreconditions(existing: StoredObject | undefined, pre: Preconditions): void {
  const generation = existing?.generation ?? 0;
  const failed =
    (pre.ifGenerationMatch !== undefined && pre.ifGenerationMatch !== generation) ||
    (pre.ifGenerationNotMatch !== undefined && pre.ifGenerationNotMatch === generation) ||
    (pre.ifMetagenerationMatch !== undefined && pre.ifMetagenerationMatch !== existing?.metageneration);
  if (failed) {
    throw new ApiFailure(
      412,
      'At least one of the pre-conditions you specified did not hold.',
      'conditionNotMet',
    );
  }
}

export interface ListQuery {
  prefix?: string;
  delimiter?: string;
  pageToken?: string;
  maxResults?: number;
}

export interface ListPage {
  items: Array<[string, StoredObject]>;
  prefixes: string[];
  nextPageToken: string | undefined;
}

/** Buckets of objects, in memory. Only whole, finalized objects ever enter it: that is what makes uploads atomic. */
export class ObjectStore {
  private readonly buckets = new Map<string, Map<string, StoredObject>>();
  private nextGeneration = 1_700_000_000_000_000;

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  /** The bucket's objects; 404 when the bucket does not exist. */
  bucket(name: string): Map<string, StoredObject> {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new ApiFailure(404, `The specified bucket does not exist: ${name}`, 'notFound');
    return bucket;
  }

  /** The current generation of an object; 404 when absent or when `generation` names an older one. */
  get(bucketName: string, name: string, generation?: number): StoredObject {
    const stored = this.bucket(bucketName).get(name);
    if (!stored || (generation !== undefined && generation !== stored.generation)) {
      throw new ApiFailure(404, `No such object: ${bucketName}/${name}`, 'notFound');
    }
    return stored;
  }

  peek(bucketName: string, name: string): StoredObject | undefined {
    return this.buckets.get(bucketName)?.get(name);
  }

  put(
    bucketName: string,
    name: string,
    data: Buffer,
    contentType: string,
    pre: Preconditions = {},
  ): StoredObject {
    const bucket = this.bucket(bucketName);
    checkPreconditions(bucket.get(name), pre);
    const stored: StoredObject = {
      data,
      contentType,
      generation: this.nextGeneration++,
      metageneration: 1,
      created: new Date().toISOString(),
      crc32c: crc32cBase64(data),
      md5Hash: md5Base64(data),
    };
    bucket.set(name, stored);
    return stored;
  }

  delete(bucketName: string, name: string, pre: Preconditions = {}): void {
    const bucket = this.bucket(bucketName);
    const stored = this.get(bucketName, name);
    checkPreconditions(stored, pre);
    bucket.delete(name);
  }

  names(bucketName: string): string[] {
    return [...(this.buckets.get(bucketName)?.keys() ?? [])].sort();
  }

  /**
   * One page of a listing. Like GCS, objects and (with a delimiter) common prefixes share one lexicographic order
   * and one page budget; the page token is the last name returned, so objects added meanwhile are not skipped.
   */
  list(bucketName: string, query: ListQuery): ListPage {
    const prefix = query.prefix ?? '';
    const delimiter = query.delimiter ?? '';
    const bucket = this.bucket(bucketName);
    const entries = new Map<string, StoredObject | undefined>();
    for (const name of [...bucket.keys()].sort()) {
      if (!name.startsWith(prefix)) continue;
      const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) entries.set(name.slice(0, cut + delimiter.length), undefined);
      else entries.set(name, bucket.get(name));
    }
    const after = query.pageToken ? Buffer.from(query.pageToken, 'base64url').toString('utf8') : undefined;
    const pageSize = Math.max(1, Math.min(query.maxResults ?? 1000, 1000));
    const ordered = [...entries.keys()].sort().filter((key) => after === undefined || key > after);
    const page = ordered.slice(0, pageSize);
    const last = page.at(-1);
    return {
      items: page.flatMap((key) => {
        const stored = entries.get(key);
        return stored ? [[key, stored] as [string, StoredObject]] : [];
      }),
      prefixes: page.filter((key) => entries.get(key) === undefined),
      nextPageToken:
        ordered.length > page.length && last !== undefined
          ? Buffer.from(last, 'utf8').toString('base64url')
          : undefined,
    };
  }
}
