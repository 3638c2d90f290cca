// Running hsctl: the one place that knows how a missing hsctl looks.
import { execFile } from 'node:child_process';

export interface HsctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

// What to say when there is no hsctl: the one thing to install.
export function noHsctlMessage(hsctl: string): string {
  return `hsctl was not found (looked for "${hsctl}"): install the harnesssync package, which provides hsctl and `
    + 'harnesssyncd, or set harnesssync.hsctlPath to its path';
}

export class HsctlMissing extends Error {
  constructor(readonly hsctl: string) {
    super(noHsctlMessage(hsctl));
  }
}

export interface HsctlOptions {
  hsctlPath: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

// Resolves with hsctl's exit status and output, whatever the status; rejects
// with HsctlMissing when the program is not there, so that callers can say so once.
export function runHsctl(opts: HsctlOptions, args: string[]): Promise<HsctlResult> {
  return new Promise((resolve, reject) => {
    execFile(opts.hsctlPath, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 20000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new HsctlMissing(opts.hsctlPath));
          return;
        }
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          // Killed by the timeout or a signal: no exit status to report.
          resolve({ code: -1, stdout, stderr: stderr || err.message });
          return;
        }
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
      });
  });
}

// hsctl's one-line error (the last non-empty stderr line), for messages.
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.length > 0 ? lines[lines.length - 1] : '';
}
