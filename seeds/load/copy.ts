/**
 * COPY FROM STDIN in text format, fed from lazily generated rows: rows are encoded into chunks of
 * about `chunkBytes`, and `stream.pipeline` only pulls the next chunk when the socket has drained
 * (pg-copy-streams waits for the socket's 'drain'), so at most a few chunks are in memory at any
 * scale.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { LoadRow } from './generate.js';

/** Default chunk size: big enough to amortise the per-message cost, small enough to stay flat. */
export const DEFAULT_CHUNK_BYTES = 128 * 1024;

const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * One value in COPY text format: `\N` for NULL; backslash, newline, carriage return and tab escaped.
 *
 * @example
 * ```ts
 * encodeCopyValue('a\tb'); // 'a\\tb'
 * encodeCopyValue(null);   // '\\N'
 * ```
 */
export function encodeCopyValue(value: string | null): string {
  if (value === null) return '\\N';
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c] as string) : value;
}

/**
 * One row as a COPY text line (with its newline). `plain[i]` true promises that column i never
 * holds a backslash, tab or newline (uuids, timestamps, enums, numbers): it skips the scan.
 */
export function encodeCopyRow(row: LoadRow, plain?: readonly boolean[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    const value = row[i] as string | null;
    line += (i === 0 ? '' : '\t') + (value !== null && plain?.[i] ? value : encodeCopyValue(value));
  }
  return `${line}\n`;
}

/** Options for `copyChunks()`. */
export interface CopyChunkOptions {
  chunkBytes?: number;
  /** Called after each chunk with the number of rows it holds. */
  onRows?: (rows: number) => void;
  /** Receives every byte, for a checksum of the data. */
  hash?: Hash;
  /** Checked between chunks: an aborted signal stops the stream with its reason. */
  signal?: AbortSignal;
  /** Columns that need no escaping (see `encodeCopyRow`). */
  plain?: readonly boolean[];
}

/**
 * Encodes rows lazily into Buffers of about `chunkBytes` (UTF-8 COPY text).
 *
 * @example
 * ```ts
 * for (const chunk of copyChunks(table.rows())) socket.write(chunk);
 * ```
 */
export function* copyChunks(rows: Iterable<LoadRow>, options: CopyChunkOptions = {}): Generator<Buffer> {
  const limit = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  let parts: string[] = [];
  let length = 0;
  const flush = (): Buffer => {
    const chunk = Buffer.from(parts.join(''), 'utf8');
    options.hash?.update(chunk);
    options.onRows?.(parts.length);
    parts = [];
    length = 0;
    return chunk;
  };
  for (const row of rows) {
    const line = encodeCopyRow(row, options.plain);
    parts.push(line);
    length += line.length;
    if (length >= limit) {
      options.signal?.throwIfAborted();
      yield flush();
    }
  }
  if (parts.length > 0) yield flush();
}

/** The COPY statement for a table and its columns (identifiers come from our own table list). */
export function copyStatement(table: string, columns: readonly string[]): string {
  return `COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN (FORMAT text)`;
}

/**
 * Streams `source` (COPY text chunks) into `table` on `client`; resolves with the row count the
 * server reports. A failure (a CHECK, a foreign key, an abort) rejects, and the COPY is undone.
 *
 * @example
 * ```ts
 * const rows = await copyInto(client, 'users', ['id', 'email'], Readable.from(copyChunks(rows)));
 * ```
 */
export async function copyInto(client: pg.ClientBase, table: string, columns: readonly string[], source: Readable): Promise<number> {
  const stream = client.query(copyFrom(copyStatement(table, columns)));
  await pipeline(source, stream as unknown as Writable);
  return stream.rowCount;
}

/** A Readable over generated chunks that buffers at most `highWaterMark` chunks ahead. */
export function chunkStream(chunks: Iterable<Buffer>, highWaterMark = 4): Readable {
  return Readable.from(chunks, { objectMode: true, highWaterMark });
}

/** sha256, for `CopyChunkOptions.hash`. */
export function newChecksum(): Hash {
  return createHash('sha256');
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
