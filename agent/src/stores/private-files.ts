import { chmodSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Data folders are 0700 and data files 0600 whatever the process umask is: `mkdir`/`writeFile` modes are
 * masked by the umask, so every helper sets the mode again with chmod. Other local users can then neither
 * list a wallet, notary or service folder nor read a database file, a key, a backup or an evidence bundle.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `path` (and missing parents, 0700) and makes it 0700 even if it existed. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(path, PRIVATE_DIR_MODE);
}

/** Writes a file readable by its owner only (0600, also when the file existed with a wider mode). */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data, { mode: PRIVATE_FILE_MODE });
  chmodSync(path, PRIVATE_FILE_MODE);
}

/** Folders in `root` become 0700 and files 0600 (LevelDB's own files, which it creates with the umask). */
export function restrictTree(root: string): void {
  chmodSync(root, PRIVATE_DIR_MODE);
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) restrictTree(path);
    else if (entry.isFile()) chmodIfPresent(path, PRIVATE_FILE_MODE);
  }
}

/**
 * chmod that tolerates the file having gone: an open LevelDB compacts in the background and deletes old
 * tables between our readdir and our chmod (seen under load as `ENOENT, chmod …/000030.ldb`). A file that
 * no longer exists needs no protecting; any other error still throws.
 */
export function chmodIfPresent(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/**
 * For the servers and command lines: every file created from now on (LevelDB's new tables and logs
 * included) is private, because LevelDB opens its files with the default mode and the umask decides.
 */
export function privateUmask(): void {
  process.umask(0o077);
}
