// The model against the real harnesssyncd: connect, drift pushed by the
// daemon, accept, reconnect after a restart, and the messages when it fails.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { ChildProcess, spawn } from 'node:child_process';
import { runHsctl } from '../hsctl';
import { formatStatus, HarnessSyncModel, ModelOptions } from '../model';
import { formatTriggerLog, TriggerFinished } from '../triggers';
import { cleanEnv, HSCTL, sleep, tempDir, TestDaemon, waitFor } from './daemon';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function model(opts: ModelOptions): HarnessSyncModel {
  const m = new HarnessSyncModel({ hsctlPath: HSCTL, env: cleanEnv(), initialBackoffMs: 50, maxBackoffMs: 500, ...opts });
  cleanups.push(() => m.stop());
  return m;
}

async function daemon(): Promise<TestDaemon> {
  const dir = tempDir();
  const d = await new TestDaemon(dir).start();
  cleanups.push(async () => {
    await d.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return d;
}

// A tracked file: codex recorded with the file's hash as it is now.
async function track(m: HarnessSyncModel, d: TestDaemon, name = 'AGENTS.md', target = 'codex'): Promise<string> {
  const file = path.join(d.dir, name);
  fs.writeFileSync(file, 'synced content\n');
  const hashes = await m.request<Record<string, string>>('hash.files', { paths: [file] });
  await m.request('state.record', {
    target, scope: 'all', file_hashes: { [file]: hashes[file] }, synced: 1, skipped: 0, failed: 0,
  });
  return file;
}

async function connected(m: HarnessSyncModel): Promise<void> {
  m.start();
  await waitFor('the model to connect', () => m.state === 'connected');
}

test('connects, and an untracked state reads HS ✓', async () => {
  const d = await daemon();
  const m = model({ socket: d.socket, autostart: false });
  await connected(m);
  assert.equal(m.statusText(), 'HS ✓');
  assert.equal(m.info?.protocol, 1);
  assert.equal(m.problem, undefined);
});

test('a tracked file edited shows as drift, and accept returns to HS ✓', async (t) => {
  const d = await daemon();
  const m = model({ socket: d.socket, autostart: false });
  await connected(m);
  const file = await track(m, d);
  await waitFor('codex to appear clean', () => m.drifts().some((x) => x.target === 'codex'));
  assert.equal(m.statusText(), 'HS ✓');

  const t0 = Date.now();
  fs.writeFileSync(file, 'edited by hand\n');
  await waitFor('drift to show', () => m.statusText() === 'HS: 1 drifted (codex)', 15000, () => m.drifts());
  t.diagnostic(`edit to status text: ${Date.now() - t0} ms`);
  assert.deepEqual(m.driftFor(file).map((x) => x.target), ['codex']);
  const rows = m.treeRows();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].description, '1 drifted');
  assert.deepEqual(rows[0].files.map((f) => [f.path, f.kind]), [[file, 'changed']]);

  const report = await m.status();
  assert.deepEqual(report.targets.map((x) => [x.name, x.status, x.driftCount]), [['codex', 'success', 1]]);
  assert.deepEqual(report.neverSynced, ['gemini', 'opencode']);
  const text = formatStatus(report);
  assert.match(text, /^codex +success +just now +1 +0 {2}1 file$/m);
  assert.match(text, /^gemini +never synced$/m);

  const acc = await m.accept('codex', [file]);
  assert.deepEqual(acc.updated, [file]);
  await waitFor('accept to clear the drift', () => m.statusText() === 'HS ✓');
  assert.deepEqual(m.driftFor(file), []);
});

test('drift that exists before connecting shows at once; removal counts too', async () => {
  const d = await daemon();
  const setup = model({ socket: d.socket, autostart: false });
  await connected(setup);
  const a = await track(setup, d, 'a.md', 'codex');
  const g = await track(setup, d, 'g.md', 'gemini');
  setup.stop();
  fs.writeFileSync(a, 'changed\n');
  fs.rmSync(g);

  const m = model({ socket: d.socket, autostart: false });
  await connected(m);
  await waitFor('both targets drifted', () => m.statusText() === 'HS: 2 drifted (codex, gemini)');
  const gem = m.treeRows().find((r) => r.target === 'gemini');
  assert.deepEqual(gem?.files.map((f) => f.kind), ['removed']);
});

test('reconnects after the daemon restarts', async () => {
  const d = await daemon();
  const m = model({ socket: d.socket, autostart: false });
  await connected(m);
  const file = await track(m, d);
  await waitFor('codex tracked', () => m.drifts().length === 1);
  const problems: string[] = [];
  m.on('problem', (msg: string) => problems.push(msg));

  await d.stop();
  await waitFor('the model to notice', () => m.state === 'disconnected');
  assert.equal(m.statusText(), 'HS: no daemon');
  fs.writeFileSync(file, 'edited while the daemon was down\n');
  await sleep(300);  // a few reconnect attempts fail meanwhile
  await d.start();
  await waitFor('the model to reconnect', () => m.state === 'connected');
  await waitFor('the drift made while down', () => m.statusText() === 'HS: 1 drifted (codex)');
  assert.ok(problems.length <= 1, `one message while the daemon was down, got: ${JSON.stringify(problems)}`);
});

test('no daemon and autostart off: one clear error, not a stream', async () => {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'none.sock');
  const m = model({ socket: sock, autostart: false });
  const problems: string[] = [];
  m.on('problem', (msg: string) => problems.push(msg));
  m.start();
  await sleep(1500);  // with a 50 to 500 ms back-off: several attempts
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.match(problems[0], /no harnesssyncd answers at .*none\.sock \(autostart is off/);
  assert.equal(m.state, 'disconnected');
  assert.equal(m.statusText(), 'HS: no daemon');
  await assert.rejects(m.status(), /not connected: no harnesssyncd answers/);
});

const NO_HSCTL = (hsctl: string) => `hsctl was not found (looked for "${hsctl}"): install the harnesssync package, `
  + 'which provides hsctl and harnesssyncd, or set harnesssync.hsctlPath to its path';

test('no hsctl: one clear error naming what to install, and no socket found without it', async () => {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, 'no-such-hsctl');
  // Even with $HARNESSSYNC_SOCKET set: only hsctl applies the socket rule.
  const m = model({ hsctlPath: missing, env: cleanEnv({ HARNESSSYNC_SOCKET: path.join(dir, 'x.sock') }) });
  const problems: string[] = [];
  m.on('problem', (msg: string) => problems.push(msg));
  m.start();
  await sleep(1500);  // with a 50 to 500 ms back-off: several attempts
  assert.deepEqual(problems, [NO_HSCTL(missing)]);
  assert.equal(m.socketPath, undefined);
  assert.equal(m.statusText(), 'HS: no daemon');
});

test('no daemon at the socket set, and no hsctl to start one: one error naming both', async () => {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, 'no-such-hsctl');
  const m = model({ hsctlPath: missing, socket: path.join(dir, 'x.sock') });
  const problems: string[] = [];
  m.on('problem', (msg: string) => problems.push(msg));
  m.start();
  await sleep(1500);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.equal(problems[0], `no harnesssyncd answers at ${path.join(dir, 'x.sock')}, and it cannot be started: `
    + NO_HSCTL(missing));
});

test('the socket path is what hsctl socket-path prints, asked with the state dir', async () => {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'args');
  const fake = path.join(dir, 'fake-hsctl');
  fs.writeFileSync(fake, `#!/bin/sh\necho "$@" >> '${log}'\n`
    + 'case " $* " in *" socket-path "*) echo /run/elsewhere/hs.sock ;; esac\n', { mode: 0o700 });
  const stateDir = path.join(dir, 'sd');
  const m = model({ hsctlPath: fake, stateDir, autostart: false });
  m.start();
  await waitFor('the socket path', () => m.socketPath !== undefined);
  assert.equal(m.socketPath, '/run/elsewhere/hs.sock');
  assert.equal(fs.readFileSync(log, 'utf8').split('\n')[0], `--state-dir ${stateDir} socket-path`);
});

test('autostart: hsctl ping starts the daemon when nothing answers', async () => {
  const dir = tempDir();
  const stateDir = path.join(dir, 'state');
  const env = cleanEnv({ HARNESSSYNC_HOME: stateDir, XDG_RUNTIME_DIR: path.join(dir, 'xdg') });
  fs.mkdirSync(path.join(dir, 'xdg'), { mode: 0o700 });
  const m = model({ env, stateDir });
  cleanups.push(async () => {
    // Stop the daemon hsctl started (it is detached), then remove its dirs.
    if (m.state === 'connected') await m.request('daemon.shutdown').catch(() => undefined);
    m.stop();
    await sleep(200);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await connected(m);
  assert.equal(m.info?.state_file, path.join(stateDir, 'state.json'));
  assert.ok(m.socketPath?.startsWith(path.join(dir, 'xdg', 'harnesssync')), m.socketPath);
  assert.equal(m.statusText(), 'HS ✓');
});

test('a daemon of another protocol version gets a plain-words warning', async () => {
  // Not the real daemon: there is no harnesssyncd of another protocol to run.
  const dir = tempDir();
  const sock = path.join(dir, 'p2.sock');
  const server = net.createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      for (;;) {
        const m = /Content-Length: (\d+)\r\n\r\n/i.exec(buf);
        if (!m || buf.length < m.index + m[0].length + Number(m[1])) return;
        const body = JSON.parse(buf.slice(m.index + m[0].length, m.index + m[0].length + Number(m[1])));
        buf = buf.slice(m.index + m[0].length + Number(m[1]));
        const result = body.method === 'daemon.info'
          ? { name: 'harnesssyncd', version: '9.0.0', protocol: 2, pid: 1, state_file: '/x/state.json', socket: sock }
          : body.method === 'state.all' ? { version: 1, targets: {} } : { subscription: 1 };
        const out = JSON.stringify({ jsonrpc: '2.0', id: body.id, result });
        s.write(`Content-Length: ${Buffer.byteLength(out)}\r\n\r\n${out}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  cleanups.push(() => { server.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  const m = model({ socket: sock, autostart: false });
  const warnings: string[] = [];
  m.on('warning', (w: string) => warnings.push(w));
  await connected(m);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /speaks protocol 2, and this extension speaks protocol 1/);
});

test("live: only the daemon's notifications move the model (saved by rename, cleared target)", async (t) => {
  const d = await daemon();
  // There is no polling: everything below is pushed.
  const m = model({ socket: d.socket, autostart: false });
  await connected(m);
  const a = await track(m, d, 'a.md', 'codex');
  await track(m, d, 'g.md', 'gemini');
  await waitFor('both targets tracked', () => m.drifts().length === 2);
  const changes: string[] = [];
  m.on('change', () => changes.push(m.statusText()));

  // Editors save by writing a temp file and renaming it over the original.
  const t0 = Date.now();
  fs.writeFileSync(`${a}.tmp`, 'saved by an editor\n');
  fs.renameSync(`${a}.tmp`, a);
  await waitFor('the rename to show as drift', () => m.statusText() === 'HS: 1 drifted (codex)');
  t.diagnostic(`rename to status text: ${Date.now() - t0} ms`);

  await m.request('state.clear', { target: 'codex' });
  await waitFor('codex to leave the model', () => !m.drifts().some((x) => x.target === 'codex'));
  assert.equal(m.statusText(), 'HS ✓');
  assert.deepEqual(m.treeRows().map((r) => r.label), ['gemini']);
  assert.ok(changes.length > 0);
});

// A tracked file rewritten in place with the same size right after
// state.record is answered, before that record's first state.drifted. The
// daemon used to miss it (in about 1 of 3 fresh daemons) until it watched a
// target's files before checking their drift; it fails against that daemon.
test('live: an edit right after the record is answered is reported', async () => {
  for (let i = 0; i < 8; i++) {
    const d = await daemon();
    const m = model({ socket: d.socket, autostart: false });
    await connected(m);
    const file = await track(m, d);
    fs.writeFileSync(file, 'edited at once\n');
    await waitFor(`drift on fresh daemon #${i}`, () => m.statusText() === 'HS: 1 drifted (codex)', 15000,
      () => m.drifts());
    m.stop();
    await d.stop();
  }
});

// ---- triggers ----------------------------------------------------------------

function hsctl(d: TestDaemon, ...args: string[]): Promise<string> {
  return runHsctl({ hsctlPath: HSCTL, env: cleanEnv() }, ['--socket', d.socket, '--state-dir', d.stateDir, ...args])
    .then((r) => {
      assert.equal(r.code, 0, `hsctl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    });
}

// Runs hsctl until its output matches re.
async function hsctlUntil(d: TestDaemon, what: string, re: RegExp, ...args: string[]): Promise<void> {
  const t0 = Date.now();
  let out = '';
  while (!re.test(out = await hsctl(d, ...args))) {
    if (Date.now() - t0 > 15000) throw new Error(`timed out waiting for ${what}; hsctl ${args.join(' ')}: ${out}`);
    await sleep(20);
  }
}

// A real trigger: its command prints 13 lines, waits for a gate file (the
// test opens it, no guessed sleep; bounded: 60 s) and exits 3.
async function failingTrigger(d: TestDaemon): Promise<{ watched: string; gate: string }> {
  const watched = path.join(d.dir, 'watched');
  const gate = path.join(d.dir, 'gate');
  const script = path.join(d.dir, 'failing.sh');
  fs.mkdirSync(watched);
  fs.writeFileSync(script, [
    '#!/bin/sh',
    'i=1; while [ $i -le 12 ]; do printf "out-%02d\\n" $i; i=$((i+1)); done',
    'echo err-final >&2',
    `n=0; while [ ! -e '${gate}' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done`,
    'exit 3',
  ].join('\n') + '\n', { mode: 0o700 });
  await hsctl(d, 'trigger', 'set', 'failing', '--watch', watched, '--settle', '50', '--', script);
  return { watched, gate };
}

test('a trigger run reads HS: syncing…; a failed run is one warning with its tail; coalesced runs change nothing',
  async (t) => {
    const d = await daemon();
    const m = model({ socket: d.socket, autostart: false });
    await connected(m);
    const base = m.statusText();
    assert.doesNotMatch(base, /syncing/);
    const { watched, gate } = await failingTrigger(d);
    const failures: Array<[string, TriggerFinished]> = [];
    m.on('triggerFailed', (msg: string, p: TriggerFinished) => failures.push([msg, p]));

    const t0 = Date.now();
    fs.writeFileSync(path.join(watched, 'edited'), 'x\n');
    await waitFor('HS: syncing…', () => m.statusText() === 'HS: syncing…', 15000, () => m.statusText());
    t.diagnostic(`edit to "HS: syncing…": ${Date.now() - t0} ms`);
    assert.deepEqual(m.runningTriggers(), ['failing']);
    assert.equal(m.showsDrift(), false);

    // A second trigger, and a model that connects in the middle of the run:
    // trigger.list tells it (no trigger.started comes again), with the name.
    await hsctl(d, 'trigger', 'set', 'other', '--watch', path.join(d.dir, 'other'), '--', '/bin/true');
    const late = model({ socket: d.socket, autostart: false });
    await connected(late);
    assert.equal(late.statusText(), 'HS: syncing failing…');

    fs.writeFileSync(gate, '');
    await waitFor('the failed run', () => failures.length > 0);
    await waitFor('the status back', () => m.statusText() === base, 15000, () => m.statusText());
    await waitFor('the late model back', () => late.statusText() === base, 15000, () => late.statusText());
    assert.equal(failures.length, 1);
    const [msg, p] = failures[0];
    assert.deepEqual([p.name, p.run, p.exit_code, p.signal, p.timed_out], ['failing', 1, 3, null, false]);
    const tailLines = [4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => `out-${String(i).padStart(2, '0')}`);
    assert.equal(msg, `trigger failing failed (exit 3, run 1):\n${[...tailLines, 'err-final'].join('\n')}`);
    assert.equal(m.lastFailedTrigger, 'failing');
    const log = formatTriggerLog('failing', await m.triggerLog('failing'));
    assert.match(log, /^failing run 1 {2}started \S+ {2}exit 3 {2}\d+ ms {2}\d+ changed\n--- stdout\nout-01\n/);
    assert.match(log, /\nout-12\n--- stderr\nerr-final$/);

    // A coalesced run: the sync lock is held, a coalescing caller waits to
    // follow; the trigger's run is covered by that caller and never starts.
    const gate2 = path.join(d.dir, 'gate2');
    const hs = (...args: string[]) => spawn(HSCTL, ['--socket', d.socket, '--state-dir', d.stateDir, ...args],
      { env: cleanEnv(), stdio: 'ignore' });
    const exited = (c: ChildProcess) => new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    const holder = hs('lock', 'sync', '--', 'sh', '-c', `while [ ! -e '${gate2}' ]; do sleep 0.05; done`);
    const holderExit = exited(holder);
    // Held: held_ms counts (holder_pid is null in the portable build: getpeereid).
    await hsctlUntil(d, 'the holder to hold lock sync', /"held_ms":[1-9]/, '--json', 'locks');
    const follower = hs('lock', 'sync', '--coalesce', '--', 'true');
    const followerExit = exited(follower);
    await hsctlUntil(d, 'the coalescing caller to wait', /"waiting":1/, '--json', 'locks');
    const seen: string[] = [];
    m.on('change', () => seen.push(m.statusText()));
    fs.writeFileSync(path.join(watched, 'edited'), 'again\n');
    await hsctlUntil(d, 'the coalesced run', /"coalesced":true/, '--json', 'trigger', 'ls');
    fs.writeFileSync(gate2, '');
    assert.deepEqual(await Promise.all([holderExit, followerExit]), [0, 0]);
    // Run 3 fails at once: its trigger.finished comes after run 2's on the
    // same connection, so run 2 has been seen by then.
    await hsctl(d, 'trigger', 'run', 'failing');
    await waitFor('the failure of run 3', () => failures.length === 2);
    assert.deepEqual(failures.map(([, f]) => f.run), [1, 3]);
    const flips = seen.filter((s, i) => s.includes('syncing') && !(seen[i - 1] ?? '').includes('syncing')).length;
    assert.ok(flips <= 1, `syncing shown more often than run 3 ran: ${JSON.stringify(seen)}`);
    await waitFor('the status back after run 3', () => m.statusText() === base, 15000, () => m.statusText());
  });

// A subscriber that stops reading during a run misses its trigger.finished:
// the daemon drops what waits for it and owes it a resync (state.changed
// 'reloaded'), and the model asks trigger.list, or it would say syncing for
// ever. editors/test_flood.py fills the connection and piles up 300
// state.changed while the model's socket is paused.
test('a resync during a trigger run ends its syncing', async () => {
  const d = await daemon();
  const m = model({ socket: d.socket, autostart: false });
  await connected(m);
  const base = m.statusText();
  const { watched, gate } = await failingTrigger(d);
  fs.writeFileSync(path.join(watched, 'edited'), 'x\n');
  await waitFor('HS: syncing…', () => m.statusText() === 'HS: syncing…', 15000, () => m.statusText());
  const flood = path.resolve(__dirname, '..', '..', '..', 'test_flood.py');
  const python = (...args: string[]) => new Promise<number | null>((resolve) => {
    spawn('python3', [flood, d.socket, ...args], { stdio: 'inherit' }).once('exit', (code) => resolve(code));
  });
  // The model's own socket (private: only this test reaches in).
  const socket = (m as unknown as { conn: { socket: net.Socket } }).conn.socket;
  socket.pause();
  assert.equal(await python('fill', path.join(d.dir, 'bulk')), 0);
  fs.writeFileSync(gate, '');
  await hsctlUntil(d, 'the run to end', /"exit_code":3/, '--json', 'trigger', 'ls');
  assert.equal(await python('ticks', '300'), 0);
  assert.equal(m.statusText(), 'HS: syncing…');
  socket.resume();
  await waitFor('the status back after the resync', () => m.statusText() === base, 15000, () => m.statusText());
});
