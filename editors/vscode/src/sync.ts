// The user's sync command, run under the daemon's "sync" lock:
// `hsctl lock sync --coalesce -- sh -c COMMAND`. hsctl holds the lock for as
// long as the command runs; a sync asked for while one runs waits as the one
// follow-up, and further ones are covered by it (coalesced).
import { spawn } from 'node:child_process';

export interface SyncOptions {
  hsctlPath: string;
  command: string;          // a shell command line (harnesssync.syncCommand)
  socket?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onOutput?: (text: string) => void;
  signal?: AbortSignal;     // cancels: hsctl gets SIGTERM, passes it on, and the lock is released
}

export interface SyncResult {
  // 'ran': the command ran and exited 0;
  // 'coalesced': a sync already waiting for the lock covers this one (hsctl exit 0, with a note);
  // 'busy': hsctl exit 5, another holder (named in message);
  // 'failed': anything else, including the command's own failure and a cancel.
  outcome: 'ran' | 'coalesced' | 'busy' | 'failed';
  code: number | null;
  message: string;
}

export function syncArgs(opts: Pick<SyncOptions, 'socket' | 'command'>): string[] {
  const args = opts.socket ? ['--socket', opts.socket] : [];
  return [...args, 'lock', 'sync', '--coalesce', '--', '/bin/sh', '-c', opts.command];
}

export function runSync(opts: SyncOptions): Promise<SyncResult> {
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(opts.hsctlPath, syncArgs(opts), {
      cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal, killSignal: 'SIGTERM',
    });
    child.stdout.on('data', (b: Buffer) => opts.onOutput?.(b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      opts.onOutput?.(b.toString());
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError') return;  // 'close' follows, after hsctl is gone
      resolve({
        outcome: 'failed', code: null,
        message: e.code === 'ENOENT' ? `${opts.hsctlPath} was not found (set harnesssync.hsctlPath)` : e.message,
      });
    });
    child.on('close', (code) => {
      const last = stderr.split('\n').map((l) => l.trim()).filter((l) => l).pop() ?? '';
      if (opts.signal?.aborted) resolve({ outcome: 'failed', code, message: 'cancelled' });
      // hsctl's note when it exits 0 without running the command (hsctl lock --help).
      else if (code === 0 && /that run covers this one/.test(stderr)) resolve({ outcome: 'coalesced', code, message: last });
      else if (code === 0) resolve({ outcome: 'ran', code, message: last || 'sync done' });
      else if (code === 5) resolve({ outcome: 'busy', code, message: last || 'another sync holds the lock' });
      else resolve({ outcome: 'failed', code, message: last || `exit status ${code}` });
    });
  });
}
