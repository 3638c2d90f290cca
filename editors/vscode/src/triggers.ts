// Trigger runs as harnesssyncd announces them (trigger.started and
// trigger.finished, docs/PROTOCOL.md "Triggers"): which runs are in progress,
// and what to say when one fails. No I/O here: src/model.ts feeds it.

// How much of a failed run's output the warning shows.
export const TAIL_LINES = 10;
export const TAIL_BYTES = 2048;

export interface TriggerOutput {
  stdout?: string;
  stderr?: string;
}

// trigger.finished's params (and, with `output`, a trigger.log entry).
export interface TriggerFinished {
  name: string;
  run: number;
  exit_code: number | null;
  signal: number | null;
  timed_out: boolean;
  coalesced: boolean;
  duration_ms?: number;
  output_tail?: TriggerOutput;
}

export interface TriggerLogEntry extends TriggerFinished {
  started: string;
  ended: string | null;
  changed: number | null;
  output?: TriggerOutput;
}

function isRun(p: unknown): p is { name: string; run: number } {
  const o = p as Record<string, unknown> | undefined;
  return typeof o?.name === 'string' && typeof o?.run === 'number';
}

export class TriggerRuns {
  // name -> the runs started and not finished. A set, not one number: a
  // trigger replaced by trigger.set counts again from 1 while its old run
  // still finishes, and each finish ends its own.
  private running = new Map<string, Set<number>>();
  // Every trigger name seen (trigger.list or a notification).
  private known = new Set<string>();

  // trigger.started; true when what is shown changed.
  started(p: unknown): boolean {
    if (!isRun(p)) return false;
    this.known.add(p.name);
    const runs = this.running.get(p.name) ?? new Set<number>();
    runs.add(p.run);
    this.running.set(p.name, runs);
    return true;
  }

  // trigger.finished; true when what is shown changed. A coalesced run had
  // no trigger.started and ends nothing.
  finished(p: unknown): boolean {
    if (!isRun(p)) return false;
    this.known.add(p.name);
    const runs = this.running.get(p.name);
    if ((p as { coalesced?: unknown }).coalesced === true || !runs?.delete(p.run)) return false;
    if (runs.size === 0) this.running.delete(p.name);
    return true;
  }

  // A trigger.list answer replaces the whole picture: asked on connecting
  // (a run already in progress shows) and after a resync (notifications were
  // dropped, a trigger.finished among them maybe). A running trigger's run in
  // progress is its `runs`: the count includes the run that started.
  reset(list: unknown): void {
    this.clear();
    for (const t of Array.isArray(list) ? list : []) {
      if (typeof t?.name !== 'string') continue;
      this.known.add(t.name);
      if (t.state === 'running' && typeof t.runs === 'number') this.running.set(t.name, new Set([t.runs]));
    }
  }

  clear(): void {
    this.running = new Map();
    this.known = new Set();
  }

  runningNames(): string[] {
    return [...this.running.keys()].sort();
  }

  knownNames(): string[] {
    return [...this.known].sort();
  }

  // "HS: syncing…", with the names when another trigger is known; undefined
  // when nothing runs.
  statusText(): string | undefined {
    const names = this.runningNames();
    if (names.length === 0) return undefined;
    if (names.length === 1 && this.known.size <= 1) return 'HS: syncing…';
    return `HS: syncing ${names.join(', ')}…`;
  }
}

// A non-zero exit, a signal or the timeout; a coalesced run ran nothing.
export function failed(p: TriggerFinished): boolean {
  if (p.coalesced === true) return false;
  return (typeof p.exit_code === 'number' && p.exit_code !== 0) || typeof p.signal === 'number' || p.timed_out === true;
}

// "exit 3", "killed by signal 9", "timed out (signal 15)".
export function how(p: TriggerFinished): string {
  if (p.timed_out === true) return typeof p.signal === 'number' ? `timed out (signal ${p.signal})` : 'timed out';
  if (typeof p.signal === 'number') return `killed by signal ${p.signal}`;
  return `exit ${String(p.exit_code)}`;
}

// The last TAIL_LINES lines of stdout then stderr, at most TAIL_BYTES. The
// daemon keeps the streams apart, so their interleaving is lost; stderr goes
// last, where a failing command's last words usually are.
export function tail(output: TriggerOutput | undefined): string {
  const lines = [output?.stdout, output?.stderr]
    .flatMap((s) => (typeof s === 'string' ? s.split('\n') : []))
    .filter((l) => l.length > 0)
    .slice(-TAIL_LINES);
  const kept: string[] = [];
  let bytes = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const n = Buffer.byteLength(lines[i]) + 1;
    if (bytes + n > TAIL_BYTES) {
      if (kept.length === 0) {
        // One long line: its end, cut at a character boundary.
        const b = Buffer.from(lines[i]);
        let start = b.length - (TAIL_BYTES - 1);
        while (start < b.length && (b[start] & 0xc0) === 0x80) start++;
        kept.unshift(b.subarray(start).toString());
      }
      break;
    }
    kept.unshift(lines[i]);
    bytes += n;
  }
  return kept.join('\n');
}

// The warning for a failed run: the trigger, how it ended, its tail.
export function failureMessage(p: TriggerFinished): string {
  const t = tail(p.output_tail);
  return `trigger ${p.name} failed (${how(p)}, run ${p.run})${t ? `:\n${t}` : ''}`;
}

// trigger.log's runs as text: a heading per run, then its whole output.
export function formatTriggerLog(name: string, runs: TriggerLogEntry[]): string {
  if (runs.length === 0) return `${name}: no run yet`;
  return runs.map((r) => {
    const state = r.coalesced ? 'coalesced' : r.ended === null ? 'running' : how(r);
    const changed = typeof r.changed === 'number' ? `${r.changed} changed` : 'changes unknown (*)';
    const out: string[] = [`${name} run ${r.run}  started ${r.started}  ${state}  ${r.duration_ms} ms  ${changed}`];
    for (const key of ['stdout', 'stderr'] as const) {
      const s = r.output?.[key];
      if (s) out.push(`--- ${key}`, s.replace(/\n$/, ''));
    }
    return out.join('\n');
  }).join('\n\n');
}
