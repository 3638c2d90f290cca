// extension.ts under a stand-in 'vscode' module (src/test/vscode-stub.ts),
// with the real model and the real daemon: the wiring of the status bar, the
// tree, the decorations, the active-editor warning and the commands.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { runHsctl } from '../hsctl';
import { HarnessSyncModel } from '../model';
import { cleanEnv, HSCTL, tempDir, TestDaemon, waitFor } from './daemon';
import { installStub, recorded, stub } from './vscode-stub';

installStub();

let dir = '';
const recordedDir = () => dir;
let d: TestDaemon | undefined;
let helper: HarnessSyncModel | undefined;
const context = { subscriptions: [] as Array<{ dispose(): void }> };
after(async () => {
  for (const s of context.subscriptions) s.dispose();
  helper?.stop();
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the extension renders the model and its commands act on the daemon', async () => {
  dir = tempDir();
  d = await new TestDaemon(dir).start();
  const m = new HarnessSyncModel({ socket: d.socket, autostart: false, env: cleanEnv() });
  helper = m;
  recorded.settings = { socket: d.socket, hsctlPath: HSCTL, autostart: false };
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ext = require('../extension') as typeof import('../extension');
  ext.activate(context as never);

  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const declared = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual([...recorded.commands.keys()].sort(), declared);
  assert.ok(recorded.trees.has('harnesssync.drift'));
  assert.equal(manifest.contributes.views.explorer[0].id, 'harnesssync.drift');

  await waitFor('the status bar to read HS ✓', () => recorded.statusBar.text === 'HS ✓', 15000,
    () => [recorded.statusBar.text, recorded.messages, recorded.output]);

  m.start();
  await waitFor('the helper to connect', () => m.state === 'connected');
  const file = path.join(dir, 'AGENTS.md');
  fs.writeFileSync(file, 'synced\n');
  const h = await m.request<Record<string, string>>('hash.files', { paths: [file] });
  await m.request('state.record', { target: 'codex', scope: 'all', file_hashes: h, synced: 1, skipped: 0, failed: 0 });
  // The record's own state.drifted first, so the tree has codex to show
  // (an edit right away is model.test.ts's business).
  const tree = recorded.trees.get('harnesssync.drift');
  await waitFor('codex in the tree', () => tree.getChildren().length === 1);
  fs.writeFileSync(file, 'edited\n');
  await waitFor('the status bar to show the drift', () => recorded.statusBar.text === 'HS: 1 drifted (codex)', 15000,
    () => [recorded.statusBar.text, recorded.messages, recorded.output]);

  const [row] = tree.getChildren();
  assert.equal(tree.getTreeItem(row).label, 'codex');
  const [fileRow] = tree.getChildren(row);
  const item = tree.getTreeItem(fileRow);
  assert.equal(item.command.command, 'vscode.open');
  assert.equal(item.command.arguments[0].fsPath, file);
  assert.equal(recorded.decorations[0].provideFileDecoration(stub.Uri.file(file))?.badge, 'HS');

  stub.window.activeTextEditor = { document: { uri: stub.Uri.file(file) } };
  for (const l of recorded.editorListeners) l();
  assert.ok(recorded.messages.some((m) => m.level === 'warning' && m.text.startsWith('AGENTS.md has changed since HarnessSync last synced it (codex)')),
    JSON.stringify(recorded.messages));

  await recorded.commands.get('harnesssync.status')!();
  assert.ok(recorded.output.some((l) => /^codex +success .* 1 file$/m.test(l)), recorded.output.join('\n'));

  await recorded.commands.get('harnesssync.accept')!(fileRow);
  await waitFor('accept to clear the status bar', () => recorded.statusBar.text === 'HS ✓', 15000,
    () => [recorded.statusBar.text, recorded.messages, recorded.output]);
  assert.equal(recorded.decorations[0].provideFileDecoration(stub.Uri.file(file)), undefined);
  assert.ok(!recorded.messages.some((m) => m.level === 'error'), JSON.stringify(recorded.messages));
});

test('Sync runs the configured command under the lock', async () => {
  const out = path.join(recordedDir(), 'synced');
  recorded.settings.syncCommand = `echo synced > '${out}'`;
  await recorded.commands.get('harnesssync.sync')!();
  assert.deepEqual(recorded.messages.slice(-1), [{ level: 'info', text: 'HarnessSync: sync done.' }]);
  assert.equal(fs.readFileSync(out, 'utf8'), 'synced\n');
});

test('Sync without a command says which setting to set', async () => {
  recorded.settings.syncCommand = '';
  await recorded.commands.get('harnesssync.sync')!();
  assert.match(recorded.messages[recorded.messages.length - 1].text, /set harnesssync\.syncCommand/);
});

test('a trigger run: the status bar says syncing, a failure is a warning with its tail and a log command', async () => {
  const daemon = d!;
  const watched = path.join(dir, 'watched');
  const gate = path.join(dir, 'gate');
  const script = path.join(dir, 'failing.sh');
  fs.mkdirSync(watched);
  // Prints 13 lines, waits for the gate (the test opens it; bounded: 60 s), exits 3.
  fs.writeFileSync(script, [
    '#!/bin/sh',
    'i=1; while [ $i -le 12 ]; do printf "out-%02d\\n" $i; i=$((i+1)); done',
    'echo err-final >&2',
    `n=0; while [ ! -e '${gate}' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done`,
    'exit 3',
  ].join('\n') + '\n', { mode: 0o700 });
  const r = await runHsctl({ hsctlPath: HSCTL, env: cleanEnv() }, ['--socket', daemon.socket, '--state-dir', daemon.stateDir,
    'trigger', 'set', 'failing', '--watch', watched, '--settle', '50', '--', script]);
  assert.equal(r.code, 0, r.stderr);
  const before = recorded.messages.length;
  fs.writeFileSync(path.join(watched, 'edited'), 'x\n');
  await waitFor('the status bar to say syncing', () => recorded.statusBar.text === 'HS: syncing…', 15000,
    () => [recorded.statusBar.text, recorded.messages]);
  assert.equal(recorded.statusBar.backgroundColor, undefined);
  fs.writeFileSync(gate, '');
  await waitFor('the warning', () => recorded.messages.length > before, 15000, () => recorded.messages);
  await waitFor('the status bar back', () => recorded.statusBar.text === 'HS ✓', 15000, () => recorded.statusBar.text);
  const shown = recorded.messages.slice(before);
  assert.equal(shown.length, 1, JSON.stringify(shown));
  assert.equal(shown[0].level, 'warning');
  assert.match(shown[0].text, /^HarnessSync: trigger failing failed \(exit 3, run 1\):\nout-04\n(.*\n){8}err-final$/);
  assert.ok(recorded.output.some((l) => l.startsWith('warning: trigger failing failed (exit 3, run 1):')));

  // The whole log, in the output channel (the only trigger: no question).
  await recorded.commands.get('harnesssync.triggerLog')!();
  const log = recorded.output[recorded.output.length - 1];
  assert.match(log, /^failing run 1 {2}started \S+ {2}exit 3 {2}\d+ ms {2}\d+ changed\n--- stdout\nout-01\n/);
  assert.deepEqual(recorded.messages.slice(before).map((m) => m.level), ['warning']);
});
