// The user's sync command, run under the daemon's "sync" lock:
// `hsctl --json lock sync --coalesce -- sh -c COMMAND`. hsctl holds the lock
// for as long as the command runs; a sync asked for while one runs waits as
// the one follow-up, and further ones are covered by it (coalesced). The
// outcome comes from hsctl's --json object, the one thing on its stdout (the
// command's own stdout goes to stderr): never from hsctl's words.
import { spawn } from 'node:child_process';
import { noHsctlMessage } from './hsctl';

export interface SyncOptions {
  hsctlPath: string;
  command: string;          // a shell command line (harnesssync.syncCommand)
  socket?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onOutput?: (text: string) => void;  // the command's output and hsctl's messages (stderr)
  signal?: AbortSignal;     // cancels: hsctl gets SIGTERM, passes it on, and the lock is released
}

// `hsctl --json lock`'s object (hsctl lock --help).
export interface LockOutcome {
  name: string;
  acquired: boolean;
  coalesced: boolean;
  holder_pid: number | null;
  ran: boolean;
  exit_status: number | null;
  owed?: boolean;
}

export interface SyncResult {
  // 'ran': the command ran and exited 0;
  // 'coalesced': a sync already waiting for the lock covers this one (the command did not run);
  // 'busy': another holder, not acquired (hsctl exit 5);
  // 'failed': anything else, including the command's own failure and a cancel.
  outcome: 'ran' | 'coalesced' | 'busy' | 'failed';
  code: number | null;
  message: string;
  lock?: LockOutcome;       // hsctl's object, when it printed one
}

export function syncArgs(opts: Pick<SyncOptions, 'socket' | 'command'>): string[] {
  const args = opts.socket ? ['--socket', opts.socket] : [];
  return ['--json', ...args, 'lock', 'sync', '--coalesce', '--', '/bin/sh', '-c', opts.command];
}

function parseOutcome(stdout: string): LockOutcome | undefined {
  try {
    const o = JSON.parse(stdout) as LockOutcome;
    return o && typeof o === 'object' && typeof o.coalesced === 'boolean' ? o : undefined;
  } catch {
    return undefined;
  }
}

function holder(o: LockOutcome): string {
  return o.holder_pid === null ? 'a process of unknown pid' : `pid ${o.holder_pid}`;
}

export function runSync(opts: SyncOptions): Promise<SyncResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(opts.hsctlPath, syncArgs(opts), {
      cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal, killSignal: 'SIGTERM',
    });
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      opts.onOutput?.(b.toString());
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError') return;  // 'close' follows, after hsctl is gone
      resolve({ outcome: 'failed', code: null, message: e.code === 'ENOENT' ? noHsctlMessage(opts.hsctlPath) : e.message });
    });
    child.on('close', (code) => {
      const last = stderr.split('\n').map((l) => l.trim()).filter((l) => l).pop() ?? '';
      const lock = parseOutcome(stdout);
      if (opts.signal?.aborted) resolve({ outcome: 'failed', code, message: 'cancelled', lock });
      else if (lock?.coalesced) {
        resolve({ outcome: 'coalesced', code, lock,
                  message: `lock ${lock.name} is held by ${holder(lock)}, and the sync already waiting for it covers this one` });
      } else if (lock?.ran && code === 0) resolve({ outcome: 'ran', code, message: 'sync done', lock });
      else if (lock && !lock.acquired) resolve({ outcome: 'busy', code, message: `lock ${lock.name} is held by ${holder(lock)}`, lock });
      else resolve({ outcome: 'failed', code, message: last || `exit status ${code}`, lock });
    });
  });
}
