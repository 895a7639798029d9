import { spawn } from 'node:child_process';
import { SFTP_CONNECT_TIMEOUT_S, SFTP_SESSION_TIMEOUT_MS } from '../limits.js';
import type { SftpOffsite } from './config.js';

/**
 * OpenSSH's `sftp` in batch mode, one session per call. The system client rather than an SSH library:
 * it checks the host key against known_hosts itself (Litestream 0.3.13's SFTP replica does not check it at
 * all), reads the same key files an operator tests with `sftp`, and needs no native add-on in the image.
 */

/** One command of a batch; `mayFail` ones (sftp's `-` prefix) do not end the session when they fail. */
export interface SftpCommand {
  words: string[];
  mayFail?: boolean;
}

/** A path or name as one word of an sftp batch line: quoted, glob characters escaped (config forbids the rest). */
export function sftpWord(word: string): string {
  return `"${word.replace(/[\\"*?[\]]/g, '\\$&')}"`;
}

/** The sftp command line for `o`, reading its batch from stdin. */
export function sftpArgs(o: SftpOffsite): string[] {
  return [
    '-b', '-',
    '-P', String(o.port),
    '-i', o.keyPath,
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile="${o.knownHosts}"`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `ConnectTimeout=${SFTP_CONNECT_TIMEOUT_S}`,
    '-o', 'ServerAliveInterval=15',
    `${o.user}@${o.host}`,
  ];
}

/**
 * Runs `commands` in one sftp session; resolves with what sftp printed to stdout (each command echoed as
 * `sftp> ...`, then its output). Rejects when sftp exits non-zero: a command without `mayFail` failed, or
 * the connection did (an unknown or changed host key among them), with sftp's last message.
 */
export function sftpBatch(o: SftpOffsite, commands: SftpCommand[], signal?: AbortSignal): Promise<string> {
  const batch = commands.map((c) => (c.mayFail ? '-' : '') + c.words.join(' ')).join('\n') + '\n';
  return new Promise((resolve, reject) => {
    const child = spawn('sftp', sftpArgs(o), { stdio: ['pipe', 'pipe', 'pipe'], signal, timeout: SFTP_SESSION_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => reject(new Error(`sftp ${o.label}: ${err.message}`, { cause: err })));
    child.on('close', (code, sig) => {
      if (code === 0) return resolve(stdout);
      reject(new Error(`sftp ${o.label}: ${reason(stderr) || (sig ? `stopped by ${sig}` : `exit code ${code}`)}`));
    });
    child.stdin.on('error', () => {}); // sftp may exit before reading it all; `close` reports why
    child.stdin.end(batch);
  });
}

/**
 * The lines of sftp's stderr that say why it failed: the last two, without the "Connection closed" it
 * ends with and the banner of a changed host key (its last lines name the host and the verdict).
 */
function reason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Connection closed\.?$/.test(l) && !l.startsWith('@'));
  return lines.slice(-2).join(' ');
}
