// Where the daemon listens: the harnesssync.socket setting, else what
// `hsctl socket-path` prints. The rule (docs/PROTOCOL.md, section 1) lives in
// hsctl alone, so that this extension can never disagree with it; without
// hsctl there is no socket to find, and the model says what to install.
import { HsctlMissing, lastLine, runHsctl } from './hsctl';

export interface SocketOptions {
  socket?: string;     // an explicit path (the harnesssync.socket setting)
  stateDir?: string;   // passed to hsctl as --state-dir
  hsctlPath: string;
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedSocket {
  path: string;
  // How it was found: the setting, or hsctl.
  via: 'setting' | 'hsctl';
}

// Rejects with HsctlMissing when there is no hsctl to ask (and no setting).
export async function resolveSocket(opts: SocketOptions): Promise<ResolvedSocket> {
  if (opts.socket) return { path: opts.socket, via: 'setting' };
  const args = opts.stateDir ? ['--state-dir', opts.stateDir, 'socket-path'] : ['socket-path'];
  const r = await runHsctl({ hsctlPath: opts.hsctlPath, env: opts.env, timeoutMs: 10000 }, args);
  const p = r.stdout.trim();
  if (r.code !== 0 || p === '') {
    throw new Error(`${opts.hsctlPath} socket-path failed: ${lastLine(r.stderr) || `exit status ${r.code}`}`);
  }
  return { path: p, via: 'hsctl' };
}

export { HsctlMissing };
