// Where the daemon listens: the same rule as hsctl (docs/PROTOCOL.md, section 1).
// hsctl is asked first (`hsctl socket-path`), so that this extension never
// disagrees with it; the rule is computed here only when there is no hsctl,
// so that a daemon someone else started is still found.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HsctlMissing, lastLine, runHsctl } from './hsctl';

export interface SocketOptions {
  socket?: string;     // an explicit path (the harnesssync.socket setting)
  stateDir?: string;   // passed to hsctl as --state-dir
  hsctlPath: string;
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedSocket {
  path: string;
  // How it was found: 'setting', 'hsctl', or 'rule' (computed without hsctl).
  via: 'setting' | 'hsctl' | 'rule';
  hsctlMissing: boolean;
}

export async function resolveSocket(opts: SocketOptions): Promise<ResolvedSocket> {
  if (opts.socket) return { path: opts.socket, via: 'setting', hsctlMissing: false };
  const args = opts.stateDir ? ['--state-dir', opts.stateDir, 'socket-path'] : ['socket-path'];
  try {
    const r = await runHsctl({ hsctlPath: opts.hsctlPath, env: opts.env, timeoutMs: 10000 }, args);
    const p = r.stdout.trim();
    if (r.code !== 0 || p === '') {
      throw new Error(`${opts.hsctlPath} socket-path failed: ${lastLine(r.stderr) || `exit status ${r.code}`}`);
    }
    return { path: p, via: 'hsctl', hsctlMissing: false };
  } catch (e) {
    if (!(e instanceof HsctlMissing)) throw e;
  }
  return { path: socketPathByRule(opts.env ?? process.env, opts.stateDir), via: 'rule', hsctlMissing: true };
}

// Like Python's os.path.realpath: the existing part resolved, the rest kept as written.
function realpathLoose(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...tail);
    } catch {
      const parent = path.dirname(head);
      if (parent === head) return abs;
      tail.unshift(path.basename(head));
      head = parent;
    }
  }
}

export function socketPathByRule(env: NodeJS.ProcessEnv, stateDirOpt?: string): string {
  if (env.HARNESSSYNC_SOCKET) return env.HARNESSSYNC_SOCKET;
  const home = env.HOME || os.homedir();
  const stateDir = stateDirOpt || env.HARNESSSYNC_HOME || path.join(home, '.harnesssync');
  let runtime: string;
  if (env.XDG_RUNTIME_DIR) {
    runtime = env.XDG_RUNTIME_DIR;
  } else {
    const uid = process.getuid ? process.getuid() : 0;
    runtime = path.join(env.TMPDIR || '/tmp', `harnesssync-${uid}`);
    checkPrivateDir(runtime, uid);
  }
  const real = realpathLoose(stateDir);
  const name = real === realpathLoose(path.join(home, '.harnesssync'))
    ? 'harnesssyncd.sock'
    : `harnesssyncd-${createHash('sha256').update(real).digest('hex').slice(0, 16)}.sock`;
  return path.join(runtime, 'harnesssync', name);
}

// A private runtime dir in a shared /tmp is trusted only when it is ours and
// 0700 (anyone could have made it first, to catch our requests). A missing one
// is fine here: nothing listens in it, and only hsctl or the daemon makes it.
function checkPrivateDir(dir: string, uid: number): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return;
  }
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o777) !== 0o700) {
    throw new Error(`${dir} is not a private directory of yours (it must be a directory owned by uid ${uid} with mode 0700)`);
  }
}
