// The sync command under the daemon's lock, through the real hsctl and daemon:
// `hsctl lock sync --coalesce -- /bin/sh -c COMMAND`.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { DaemonConnection } from '../connection';
import { runSync, SyncOptions } from '../sync';
import { cleanEnv, HSCTL, tempDir, TestDaemon, waitFor } from './daemon';

let d: TestDaemon;
after(async () => {
  await d?.stop();
  if (d) fs.rmSync(d.dir, { recursive: true, force: true });
});

function opts(command: string, extra: Partial<SyncOptions> = {}): SyncOptions {
  return { hsctlPath: HSCTL, command, socket: d.socket, env: cleanEnv(), ...extra };
}

// Polls lock.list until pred holds (generous timeout: the machine may be loaded).
async function untilLocks(what: string, pred: (locks: Array<{ name: string; waiting: number }>) => boolean): Promise<void> {
  const conn = await DaemonConnection.open(d.socket);
  try {
    for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 50))) {
      const locks = await conn.request<Array<{ name: string; waiting: number }>>('lock.list');
      if (pred(locks)) return;
      assert.ok(Date.now() - t0 < 15000, `timed out waiting for ${what}: ${JSON.stringify(locks)}`);
    }
  } finally {
    conn.dispose();
  }
}

test('the command runs under the lock', async () => {
  d = await new TestDaemon(tempDir()).start();
  const out = path.join(d.dir, 'synced');
  let shown = '';
  const r = await runSync(opts(`echo ran > '${out}'; echo to-stdout`, { onOutput: (t) => { shown += t; } }));
  assert.equal(r.outcome, 'ran', r.message);
  assert.equal(fs.readFileSync(out, 'utf8'), 'ran\n');
  assert.equal(r.lock?.ran, true);
  assert.equal(r.lock?.exit_status, 0);
  assert.equal(shown, 'to-stdout\n');  // the command's stdout is shown (hsctl's stdout is its object)
});

test("the command's failure is reported with its status", async () => {
  const r = await runSync(opts('echo oops >&2; exit 3'));
  assert.deepEqual([r.outcome, r.code, r.message, r.lock?.exit_status], ['failed', 3, 'oops', 3]);
});

test('no hsctl: the message names what to install', async () => {
  const missing = path.join(d.dir, 'no-such-hsctl');
  const r = await runSync(opts('true', { hsctlPath: missing }));
  assert.equal(r.outcome, 'failed');
  assert.equal(r.message, `hsctl was not found (looked for "${missing}"): install the harnesssync package, `
    + 'which provides hsctl and harnesssyncd, or set harnesssync.hsctlPath to its path');
});

test('while one sync runs, the next waits and a third is coalesced into it', async () => {
  const gate = path.join(d.dir, 'gate');
  const log = path.join(d.dir, 'log');
  // The holder runs until the test removes the gate.
  fs.writeFileSync(gate, '');
  const holder = spawn(HSCTL, ['--socket', d.socket, 'lock', 'sync', '--', '/bin/sh', '-c',
    `echo holder >> '${log}'; while [ -e '${gate}' ]; do sleep 0.05; done`], { env: cleanEnv(), stdio: 'ignore' });
  const holderDone = new Promise<number | null>((r) => holder.on('close', r));
  await waitFor('the holder to start', () => fs.existsSync(log));

  const waiter = runSync(opts(`echo waiter >> '${log}'`));
  await untilLocks('the waiter to queue', (ls) => ls.some((l) => l.name === 'sync' && l.waiting === 1));
  const third = await runSync(opts(`echo third >> '${log}'`));
  assert.equal(third.outcome, 'coalesced', third.message);
  assert.equal(third.lock?.coalesced, true);
  assert.equal(third.lock?.ran, false);
  // The portable build's daemon cannot know a peer's pid (getpeereid).
  const heldBy = process.env.HS_PORTABLE === '1' ? 'a process of unknown pid' : `pid ${holder.pid}`;
  assert.equal(third.message, `lock sync is held by ${heldBy}, and the sync already waiting for it covers this one`);
  // The outcome is hsctl's --json object, not its words: an hsctl whose
  // stderr goes nowhere is understood the same.
  const quiet = path.join(d.dir, 'quiet-hsctl');
  fs.writeFileSync(quiet, `#!/bin/sh\nexec '${HSCTL}' "$@" 2>/dev/null\n`, { mode: 0o700 });
  const fourth = await runSync(opts(`echo fourth >> '${log}'`, { hsctlPath: quiet }));
  assert.equal(fourth.outcome, 'coalesced', fourth.message);

  fs.rmSync(gate);
  assert.equal(await holderDone, 0);
  const w = await waiter;
  assert.equal(w.outcome, 'ran', w.message);
  assert.deepEqual(fs.readFileSync(log, 'utf8').split('\n').filter((l) => l), ['holder', 'waiter']);
});

test('cancelling a sync that waits for the lock leaves the queue', async () => {
  const gate = path.join(d.dir, 'gate2');
  fs.writeFileSync(gate, '');
  const holder = spawn(HSCTL, ['--socket', d.socket, 'lock', 'sync', '--', '/bin/sh', '-c',
    `while [ -e '${gate}' ]; do sleep 0.05; done`], { env: cleanEnv(), stdio: 'ignore' });
  const holderDone = new Promise<number | null>((r) => holder.on('close', r));
  const abort = new AbortController();
  const ran = path.join(d.dir, 'cancelled-ran');
  await untilLocks('the holder to hold the lock', (ls) => ls.some((l) => l.name === 'sync'));
  const waiting = runSync(opts(`touch '${ran}'`, { signal: abort.signal }));
  await untilLocks('the sync to queue', (ls) => ls.some((l) => l.name === 'sync' && l.waiting === 1));
  abort.abort();
  const r = await waiting;
  assert.deepEqual([r.outcome, r.message], ['failed', 'cancelled']);
  fs.rmSync(gate);
  assert.equal(await holderDone, 0);
  // Had the cancelled sync stayed queued, it would take the lock now and run.
  await untilLocks('the lock to be free', (ls) => !ls.some((l) => l.name === 'sync'));
  assert.equal(fs.existsSync(ran), false);
});
