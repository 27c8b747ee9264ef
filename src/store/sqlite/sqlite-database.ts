/**
 * The part of better-sqlite3 this adapter uses, and nothing more (house style: narrow interfaces over
 * vendor libraries).
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface SqliteStatement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  /** Rows one at a time, so a caller that stops early does not read the rest. */
  iterate(...params: unknown[]): IterableIterator<unknown>;
}

export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  /** Calling the result runs `fn` in BEGIN (a savepoint when nested); `.immediate` runs it in BEGIN IMMEDIATE. */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) & { immediate(...args: A): R };
  close(): void;
}

export function openSqliteDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:' && !path.startsWith('file:')) {
    // The store holds every SAS key: create it 0600 ourselves (SQLite would make it 0644 under the usual
    // umask). SQLite gives the -wal and -shm files it creates later the database file's mode, so they
    // are 0600 too. An empty file is a valid new database.
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch {
      // It exists (or cannot be made): opening it below says which.
    }
  }
  return new Database(path) as unknown as SqliteDatabase;
}
