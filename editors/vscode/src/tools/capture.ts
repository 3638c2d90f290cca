// Prints what the extension would show, from the real model against a running
// daemon: the status bar text, the HarnessSync tree, and the Status command's
// output. Used for the text capture in docs/EDITORS.md (there is no VS Code on
// a headless machine to take a screenshot of).
//   node out/tools/capture.js [--socket PATH] [--hsctl PATH]
import { formatStatus, HarnessSyncModel } from '../model';

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const m = new HarnessSyncModel({ socket: arg('--socket'), hsctlPath: arg('--hsctl') ?? 'hsctl', autostart: false });
  m.on('problem', (p: string) => {
    console.error(`problem: ${p}`);
    process.exit(1);
  });
  m.start();
  const t0 = Date.now();
  while (m.state !== 'connected' && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));  // the subscription's first drift
  console.log(`status bar:  ${m.statusText()}`);
  console.log('tree view "HarnessSync":');
  for (const row of m.treeRows()) {
    console.log(`  ${row.files.length > 0 ? '▾' : ' '} ${row.label}  ${row.description}`);
    for (const f of row.files) console.log(`      ${f.label}  ${f.description}`);
  }
  console.log('HarnessSync: Status (output channel):');
  for (const line of formatStatus(await m.status()).split('\n')) console.log(`  ${line}`);
  m.stop();
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
