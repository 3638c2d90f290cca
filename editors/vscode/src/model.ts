// The connection to harnesssyncd and the drift model the editor shows. This
// module must not import 'vscode': it is tested with plain node against the
// real daemon (src/test/model.test.ts), and src/extension.ts only renders it.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DaemonConnection, DaemonInfo, isNotRunning } from './connection';
import { HsctlMissing, lastLine, noHsctlMessage, runHsctl } from './hsctl';
import { resolveSocket, ResolvedSocket } from './socket';
import { failed, failureMessage, TriggerFinished, TriggerLogEntry, TriggerRuns } from './triggers';

export const PROTOCOL = 1;

export interface ModelOptions {
  socket?: string;          // explicit socket path; else `hsctl socket-path`
  hsctlPath?: string;       // default 'hsctl' (found on PATH)
  autostart?: boolean;      // start the daemon with `hsctl ping` when nothing answers (default true)
  stateDir?: string;        // the state dir hsctl is told about, and that the daemon must serve
  env?: NodeJS.ProcessEnv;  // environment for hsctl (default process.env)
  initialBackoffMs?: number;  // first reconnect delay (default 250), doubled up to maxBackoffMs
  maxBackoffMs?: number;      // (default 5000)
}

export interface DriftError {
  path: string;
  reason: string;
}

// A target's whole drift as the daemon last reported it.
export interface TargetDrift {
  target: string;
  account?: string;
  changed: string[];
  removed: string[];
  errors: DriftError[];
}

export type ConnState = 'starting' | 'connected' | 'disconnected' | 'stopped';

export interface TreeFile {
  path: string;
  target: string;
  account?: string;
  kind: 'changed' | 'removed' | 'unreadable';
  label: string;
  description: string;
}

export interface TreeTarget {
  target: string;
  account?: string;
  label: string;
  description: string;
  files: TreeFile[];
}

export interface StatusTarget {
  name: string;
  status: string;
  lastSync: string;
  synced: number;
  failed: number;
  driftCount: number;
}

export interface StatusReport {
  lastSync: string;
  targets: StatusTarget[];
  neverSynced: string[];
}

export interface DriftResult {
  target: string;
  tracked: boolean;
  drifted: string[];
  changed: string[];
  added: string[];
  removed: string[];
  errors: DriftError[];
}

export interface AcceptResult {
  updated: string[];
  removed: string[];
}

// HarnessSync's usual targets: `hsctl status` names them as never synced.
const USUAL_TARGETS = ['codex', 'gemini', 'opencode'];

function key(target: string, account?: string): string {
  return account ? `${account}/${target}` : target;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function driftCount(d: TargetDrift): number {
  return d.changed.length + d.removed.length;
}

/**
 * Events:
 *  'change'      the drift, the connection state or the status text changed
 *  'problem'     (message) why the daemon cannot be reached; once per distinct
 *                message until a connection succeeds again, never a stream
 *  'warning'     (message) a daemon of another protocol version, in plain words
 *  'connected'   (DaemonInfo)
 *  'disconnected'
 *  'stateChanged' (params of state.changed)
 *  'triggerFailed' (message, params of trigger.finished) a trigger run ended
 *                with a non-zero exit, a signal or its timeout; once per run
 *  'log'         (message) for an output channel
 */
export class HarnessSyncModel extends EventEmitter {
  private readonly opts: Required<Omit<ModelOptions, 'socket' | 'stateDir' | 'env'>> & ModelOptions;
  private conn: DaemonConnection | undefined;
  private resolved: ResolvedSocket | undefined;
  private readonly driftMap = new Map<string, TargetDrift>();
  private readonly runs = new TriggerRuns();
  private lastFailed: string | undefined;
  private connState: ConnState = 'starting';
  private daemonInfo: DaemonInfo | undefined;
  private lastProblem: string | undefined;
  private lastWarning: string | undefined;
  private stopped = false;
  private running = false;
  private wake: (() => void) | undefined;

  constructor(options: ModelOptions = {}) {
    super();
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.opts = { hsctlPath: 'hsctl', autostart: true, initialBackoffMs: 250, maxBackoffMs: 5000, ...given };
  }

  // Connects, and keeps reconnecting with back-off until stop(). A stopped
  // model stays stopped: make a new one (the extension does, on a new setting).
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.setState('stopped');
    this.conn?.dispose();
    this.conn = undefined;
    this.wake?.();
  }

  get state(): ConnState {
    return this.connState;
  }

  get info(): DaemonInfo | undefined {
    return this.daemonInfo;
  }

  get socketPath(): string | undefined {
    return this.resolved?.path;
  }

  // The problem that keeps the model disconnected, if any.
  get problem(): string | undefined {
    return this.connState === 'connected' ? undefined : this.lastProblem;
  }

  drifts(): TargetDrift[] {
    return [...this.driftMap.values()].sort((a, b) => key(a.target, a.account).localeCompare(key(b.target, b.account)));
  }

  // "HS ✓", "HS: 2 drifted (codex)" (files, then the targets they are in), or
  // "HS: syncing…" while a trigger runs.
  statusText(): string {
    if (this.connState === 'starting') return 'HS …';
    if (this.connState !== 'connected') return 'HS: no daemon';
    const syncing = this.runs.statusText();
    if (syncing) return syncing;
    const drifted = this.drifts().filter((d) => driftCount(d) > 0);
    if (drifted.length === 0) return 'HS ✓';
    const n = drifted.reduce((s, d) => s + driftCount(d), 0);
    return `HS: ${n} drifted (${drifted.map((d) => key(d.target, d.account)).join(', ')})`;
  }

  tooltip(): string {
    if (this.connState !== 'connected') {
      return this.lastProblem ? `HarnessSync: ${this.lastProblem}` : 'HarnessSync: connecting to harnesssyncd';
    }
    const lines = [`harnesssyncd ${this.daemonInfo?.version ?? '?'} at ${this.socketPath ?? '?'}`];
    for (const d of this.drifts()) {
      const n = driftCount(d);
      lines.push(`${key(d.target, d.account)}: ${n === 0 ? 'no drift' : `${n} drifted`}`);
    }
    return lines.join('\n');
  }

  // Whether the status bar shows drift (and not syncing, nor a problem).
  showsDrift(): boolean {
    return this.connState === 'connected' && !this.runs.statusText()
      && this.drifts().some((d) => driftCount(d) > 0);
  }

  // The triggers running now, sorted.
  runningTriggers(): string[] {
    return this.runs.runningNames();
  }

  // Every trigger seen on this connection (trigger.list or a notification).
  knownTriggers(): string[] {
    return this.runs.knownNames();
  }

  // The trigger whose run failed last.
  get lastFailedTrigger(): string | undefined {
    return this.lastFailed;
  }

  // The targets whose drift lists this file (changed or removed).
  driftFor(file: string): TargetDrift[] {
    return this.drifts().filter((d) => d.changed.includes(file) || d.removed.includes(file));
  }

  // What the tree view shows: each tracked target, and under it its drifted files.
  treeRows(): TreeTarget[] {
    return this.drifts().map((d) => {
      const files: TreeFile[] = [];
      const add = (p: string, kind: TreeFile['kind'], why?: string) => files.push({
        path: p, target: d.target, account: d.account, kind, label: path.basename(p),
        description: `${why ?? kind} · ${path.dirname(p)}`,
      });
      d.changed.forEach((p) => add(p, 'changed'));
      d.removed.forEach((p) => add(p, 'removed'));
      d.errors.forEach((e) => add(e.path, 'unreadable', `unreadable: ${e.reason}`));
      const n = driftCount(d);
      return { target: d.target, account: d.account, label: key(d.target, d.account),
               description: n === 0 ? '✓' : `${n} drifted`, files };
    });
  }

  // ---- calls ---------------------------------------------------------------

  async request<T>(method: string, params?: object, timeoutMs?: number): Promise<T> {
    if (!this.conn || this.conn.isClosed) {
      throw new Error(this.lastProblem ? `not connected: ${this.lastProblem}` : 'not connected to harnesssyncd yet');
    }
    return this.conn.request<T>(method, params, timeoutMs);
  }

  // Every target, as `hsctl status` shows it.
  async status(): Promise<StatusReport> {
    const doc = await this.request<Record<string, unknown>>('state.all');
    const targets = (doc.targets && typeof doc.targets === 'object' ? doc.targets : {}) as Record<string, Record<string, unknown>>;
    const names = Object.keys(targets);
    const drifts = await Promise.all(names.map((t) => this.drift(t)));
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const num = (v: unknown) => (typeof v === 'number' ? v : 0);
    return {
      lastSync: str(doc.last_sync),
      targets: names.map((name, i) => {
        const e = targets[name] && typeof targets[name] === 'object' ? targets[name] : {};
        return { name, status: str(e.status), lastSync: str(e.last_sync), synced: num(e.items_synced),
                 failed: num(e.items_failed), driftCount: drifts[i].drifted.length };
      }),
      neverSynced: USUAL_TARGETS.filter((t) => !(t in targets)),
    };
  }

  drift(target: string): Promise<DriftResult> {
    return this.request<DriftResult>('state.drift', { target });
  }

  // Takes the files as they are now as the target's new baseline.
  accept(target: string, paths: string[]): Promise<AcceptResult> {
    return this.request<AcceptResult>('state.accept', { target, paths });
  }

  // A trigger's last runs, oldest first, with their whole output.
  triggerLog(name: string, runs = 10): Promise<TriggerLogEntry[]> {
    return this.request<TriggerLogEntry[]>('trigger.log', { name, runs });
  }

  async triggerNames(): Promise<string[]> {
    const list = await this.request<Array<{ name: string }>>('trigger.list');
    return list.map((t) => t.name).sort();
  }

  // ---- connection ------------------------------------------------------------

  private async loop(): Promise<void> {
    let backoff = this.opts.initialBackoffMs;
    while (!this.stopped) {
      const conn = await this.attempt();
      if (this.stopped) {
        conn?.dispose();
        break;
      }
      if (conn) {
        backoff = this.opts.initialBackoffMs;
        await new Promise<void>((resolve) => conn.onClose(resolve));
        this.conn = undefined;
        if (this.stopped) break;
        this.emit('log', 'the connection to harnesssyncd closed; reconnecting');
        this.runs.clear();
        this.setState('disconnected');
        this.emit('disconnected');
      }
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, this.opts.maxBackoffMs);
    }
    this.running = false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = undefined; resolve(); };
    });
  }

  private hsctlArgs(...rest: string[]): string[] {
    const args: string[] = [];
    if (this.opts.socket) args.push('--socket', this.opts.socket);
    if (this.opts.stateDir) args.push('--state-dir', this.opts.stateDir);
    return [...args, ...rest];
  }

  // One try: connected and subscribed, or undefined after reporting why not.
  private async attempt(): Promise<DaemonConnection | undefined> {
    let resolved: ResolvedSocket;
    try {
      resolved = this.resolved ?? await resolveSocket({
        socket: this.opts.socket, stateDir: this.opts.stateDir, hsctlPath: this.opts.hsctlPath, env: this.opts.env,
      });
    } catch (e) {
      this.fail(e instanceof HsctlMissing ? e.message : `cannot find the daemon's socket: ${(e as Error).message}`);
      return undefined;
    }
    this.resolved = resolved;
    let conn: DaemonConnection;
    try {
      conn = await DaemonConnection.open(resolved.path);
    } catch (e) {
      if (!isNotRunning(e)) {
        this.fail(`cannot connect to harnesssyncd at ${resolved.path}: ${(e as Error).message}`);
        return undefined;
      }
      const started = await this.autostart(resolved);
      if (!started) return undefined;
      try {
        conn = await DaemonConnection.open(resolved.path);
      } catch (e2) {
        this.fail(`hsctl started harnesssyncd, but nothing answers at ${resolved.path}: ${(e2 as Error).message}`);
        return undefined;
      }
    }
    if (this.stopped) return conn;
    try {
      await this.setUp(conn);
    } catch (e) {
      conn.dispose();
      this.fail((e as Error).message);
      return undefined;
    }
    return conn;
  }

  // Starts the daemon the way every client does (hsctl holds the spawn lock).
  private async autostart(resolved: ResolvedSocket): Promise<boolean> {
    if (!this.opts.autostart) {
      this.fail(`no harnesssyncd answers at ${resolved.path} (autostart is off: start it with "hsctl ping")`);
      return false;
    }
    try {
      const r = await runHsctl({ hsctlPath: this.opts.hsctlPath, env: this.opts.env, timeoutMs: 20000 }, this.hsctlArgs('ping'));
      if (r.code !== 0) {
        this.fail(`could not start harnesssyncd: ${lastLine(r.stderr) || `hsctl ping exited with status ${r.code}`}`);
        return false;
      }
      this.emit('log', `started harnesssyncd with ${this.opts.hsctlPath} ping`);
      return true;
    } catch (e) {
      this.fail(e instanceof HsctlMissing
        ? `no harnesssyncd answers at ${resolved.path}, and it cannot be started: ${noHsctlMessage(this.opts.hsctlPath)}`
        : `could not start harnesssyncd: ${(e as Error).message}`);
      return false;
    }
  }

  private async setUp(conn: DaemonConnection): Promise<void> {
    const info = await conn.request<DaemonInfo>('daemon.info', undefined, 10000);
    if (info.protocol !== PROTOCOL) {
      this.warn(`harnesssyncd at ${this.resolved?.path} speaks protocol ${String(info.protocol)}, and this extension ` +
                `speaks protocol ${PROTOCOL}: some things may not work. Update the one that is older ` +
                `(to restart the daemon after an upgrade: "hsctl shutdown").`);
    }
    if (this.opts.stateDir) {
      const want = path.join(path.resolve(this.opts.stateDir), 'state.json');
      if (realpath(info.state_file) !== realpath(want)) {
        throw new Error(`harnesssyncd at ${this.resolved?.path} serves ${info.state_file}, not ${want}`);
      }
    }
    // Notifications may come before subscribe's answer; this connection has one
    // subscription, so every state.drifted on it is ours.
    conn.onNotification('state.drifted', (p) => this.applyDrift(p));
    conn.onNotification('state.changed', (p) => this.onStateChanged(p));
    conn.onNotification('trigger.started', (p) => {
      if (this.runs.started(p)) this.emit('change');
    });
    conn.onNotification('trigger.finished', (p) => this.onTriggerFinished(p));
    this.conn = conn;
    this.daemonInfo = info;
    await conn.request('state.subscribe', { triggers: true }, 10000);
    // Connected once the runs in progress are known, so that a reconnect
    // during a run does not show the drift for a moment.
    await this.refreshTriggers(conn);
    if (this.stopped) return;
    this.lastProblem = undefined;
    this.setState('connected');
    this.emit('connected', info);
    this.emit('log', `connected to harnesssyncd ${info.version} (pid ${info.pid}) at ${this.resolved?.path}`);
    // The subscription sends every tracked target's drift at once; this
    // forgets targets that are gone since a reconnect.
    await this.pruneTargets(conn);
  }

  // Forgets the targets state.json no longer holds (the subscription keeps
  // the drift of the others current).
  private async pruneTargets(conn: DaemonConnection): Promise<void> {
    const doc = await conn.request<Record<string, unknown>>('state.all');
    const targets = Object.keys((doc.targets && typeof doc.targets === 'object' ? doc.targets : {}) as object);
    let changed = false;
    for (const [k, d] of this.driftMap) {
      if (!d.account && !targets.includes(d.target)) {
        this.driftMap.delete(k);
        changed = true;
      }
    }
    if (changed) this.emit('change');
  }

  private applyDrift(p: Record<string, unknown>): void {
    if (typeof p?.target !== 'string') return;
    const account = typeof p.account === 'string' ? p.account : undefined;
    const errors = Array.isArray(p.errors)
      ? p.errors.filter((e): e is DriftError => !!e && typeof e.path === 'string')
        .map((e) => ({ path: e.path, reason: typeof e.reason === 'string' ? e.reason : 'unreadable' }))
      : [];
    const next: TargetDrift = { target: p.target, account, changed: strings(p.changed), removed: strings(p.removed), errors };
    const k = key(next.target, account);
    const prev = this.driftMap.get(k);
    this.driftMap.set(k, next);
    if (!prev || JSON.stringify(prev) !== JSON.stringify(next)) this.emit('change');
  }

  private onStateChanged(p: Record<string, unknown>): void {
    this.emit('stateChanged', p);
    const target = typeof p?.target === 'string' ? p.target : undefined;
    const account = typeof p?.account === 'string' ? p.account : undefined;
    if (p?.kind === 'cleared' && target) {
      if (this.driftMap.delete(key(target, account))) this.emit('change');
    } else if ((p?.kind === 'reloaded' || p?.kind === 'migrated') && this.conn) {
      // Another process rewrote state.json: which targets exist may have changed.
      this.pruneTargets(this.conn).catch((e) => this.emit('log', `refresh failed: ${(e as Error).message}`));
      // A resync (target null): trigger notifications may have been dropped too.
      if (p?.kind === 'reloaded' && p?.target === null) {
        const conn = this.conn;
        this.refreshTriggers(conn).then(() => this.emit('change'))
          .catch((e) => this.emit('log', `refresh failed: ${(e as Error).message}`));
      }
    }
  }

  // Which trigger runs are in progress, from trigger.list. A daemon without
  // triggers answers with an error: nothing runs, then.
  private async refreshTriggers(conn: DaemonConnection): Promise<void> {
    let list: unknown;
    try {
      list = await conn.request('trigger.list', undefined, 10000);
    } catch (e) {
      if (conn.isClosed) throw e;
      this.emit('log', `trigger.list failed: ${(e as Error).message}`);
      return;
    }
    if (conn === this.conn) this.runs.reset(list);
  }

  private onTriggerFinished(p: TriggerFinished): void {
    const ended = this.runs.finished(p);
    if (typeof p?.name === 'string' && typeof p?.run === 'number' && failed(p)) {
      this.lastFailed = p.name;
      this.emit('triggerFailed', failureMessage(p), p);
    }
    if (ended) this.emit('change');
  }

  private setState(s: ConnState): void {
    if (this.connState === s) return;
    this.connState = s;
    this.emit('change');
  }

  private fail(message: string): void {
    if (this.connState !== 'disconnected' && this.connState !== 'stopped') this.setState('disconnected');
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.emit('problem', message);
    this.emit('change');
  }

  private warn(message: string): void {
    if (message === this.lastWarning) return;
    this.lastWarning = message;
    this.emit('warning', message);
  }
}

// The table `hsctl status` prints, from a StatusReport.
export function formatStatus(r: StatusReport, now: Date = new Date()): string {
  const out: string[] = [`last sync: ${relativeTime(r.lastSync, now)}`];
  if (r.targets.length > 0) {
    out.push('');
    const row = (c: string[]) => `${c[0].padEnd(16)} ${c[1].padEnd(8)} ${c[2].padEnd(14)} ${c[3].padStart(7)} ${c[4].padStart(7)}  ${c[5]}`;
    out.push(row(['TARGET', 'STATUS', 'LAST SYNC', 'SYNCED', 'FAILED', 'DRIFT']));
    for (const t of r.targets) {
      out.push(row([t.name, t.status, relativeTime(t.lastSync, now), String(t.synced), String(t.failed),
                    t.driftCount === 0 ? 'none' : `${t.driftCount} ${t.driftCount === 1 ? 'file' : 'files'}`]));
    }
  }
  for (const t of r.neverSynced) out.push(`${t.padEnd(16)} never synced`);
  if (r.targets.some((t) => t.driftCount > 0)) out.push('', "drift found: 'HarnessSync: Drift' lists the files");
  return out.join('\n');
}

// As hsctl writes it: the daemon's times are local, without a zone.
export function relativeTime(iso: string, now: Date = new Date()): string {
  if (!iso) return 'never';
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso);
  if (!m) return iso;
  const then = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const secs = Math.floor((now.getTime() - then.getTime()) / 1000);
  if (secs < -60) return `in the future (${iso})`;
  if (secs < 10) return 'just now';
  if (secs < 60) return `${secs} s ago`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.floor(secs / 3600)} h ago`;
  const days = Math.floor(secs / 86400);
  return days === 1 ? '1 day ago' : `${days} days ago`;
}
