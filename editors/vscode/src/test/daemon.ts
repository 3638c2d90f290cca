// The real harnesssyncd for the tests: started on a temp state dir with a
// socket under /tmp (a Unix socket path must fit in 108 bytes).
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const here = path.resolve(__dirname, '..', '..');
export const DAEMON = process.env.HS_DAEMON || path.resolve(here, '..', '..', 'build', 'bin', 'harnesssyncd');
export const HSCTL = process.env.HS_HSCTL || path.resolve(here, '..', '..', 'build', 'bin', 'hsctl');

// hsctl and the daemon must not pick up the developer's own daemon.
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.HARNESSSYNC_SOCKET;
  delete env.HARNESSSYNC_HOME;
  delete env.HARNESSSYNC_SCHEMA;
  delete env.HARNESSSYNC_NO_SPAWN;
  return { ...env, ...extra };
}

export function tempDir(): string {
  const d = fs.mkdtempSync(path.join('/tmp', 'hs-vsc.'));
  fs.chmodSync(d, 0o700);
  return d;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// Polls cond until it holds; generous timeouts, as the machine may be loaded.
// `now` describes what there is instead, for the failure message.
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 15000, now?: () => unknown): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${now ? `; now: ${JSON.stringify(now())}` : ''}`);
    }
    await sleep(10);
  }
  return Date.now() - t0;
}

function pingOnce(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    let buf = '';
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('{"jsonrpc":"2.0","id":1,"method":"daemon.ping"}\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) {
        s.destroy();
        resolve(buf.includes('"pong"'));
      }
    });
  });
}

export class TestDaemon {
  readonly stateDir: string;
  readonly socket: string;
  private proc: ChildProcess | undefined;
  private output = '';

  constructor(readonly dir: string) {
    this.stateDir = path.join(dir, 'state');
    this.socket = path.join(dir, 'run', 'hs.sock');
  }

  async start(): Promise<this> {
    const proc = spawn(DAEMON, ['--state-dir', this.stateDir, '--socket', this.socket, '--log-level', 'debug'],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (d) => { this.output += d.toString(); });
    proc.stderr!.on('data', (d) => { this.output += d.toString(); });
    const t0 = Date.now();
    while (Date.now() - t0 < 15000) {
      if (proc.exitCode !== null) throw new Error(`harnesssyncd exited ${proc.exitCode}: ${this.output}`);
      if (await pingOnce(this.socket)) return this;
      await sleep(20);
    }
    throw new Error(`harnesssyncd not ready: ${this.output}`);
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  log(): string {
    return this.output;
  }

  // SIGTERM, and wait until it is gone.
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await gone;
    clearTimeout(timer);
    // Sanitizer builds report leaks and undefined behaviour at exit, on stderr.
    if (/Sanitizer|runtime error/.test(this.output)) throw new Error(`harnesssyncd: ${this.output.slice(-4000)}`);
  }
}
