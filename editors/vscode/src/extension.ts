// The VS Code side: renders the model (src/model.ts) as a status bar item, a
// tree view, file decorations and commands. Everything about the daemon
// lives in the model, which is tested without VS Code.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatStatus, HarnessSyncModel, TargetDrift, TreeFile, TreeTarget } from './model';
import { runSync } from './sync';
import { formatTriggerLog } from './triggers';

type Node = TreeTarget | TreeFile;

function isFile(n: Node): n is TreeFile {
  return (n as TreeFile).path !== undefined;
}

function config() {
  const c = vscode.workspace.getConfiguration('harnesssync');
  return {
    socket: c.get<string>('socket', '').trim() || undefined,
    hsctlPath: c.get<string>('hsctlPath', '').trim() || 'hsctl',
    autostart: c.get<boolean>('autostart', true),
    syncCommand: c.get<string>('syncCommand', '').trim(),
  };
}

class DriftTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly model: () => HarnessSyncModel) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(n?: Node): Node[] {
    if (!n) return this.model().treeRows();
    return isFile(n) ? [] : n.files;
  }

  getTreeItem(n: Node): vscode.TreeItem {
    if (!isFile(n)) {
      const item = new vscode.TreeItem(n.label, n.files.length > 0
        ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      item.description = n.description;
      item.contextValue = 'target';
      item.iconPath = new vscode.ThemeIcon(n.files.length > 0 ? 'warning' : 'pass');
      return item;
    }
    const item = new vscode.TreeItem(n.label, vscode.TreeItemCollapsibleState.None);
    item.description = n.description;
    item.tooltip = `${n.path}\n${n.kind} since ${n.target}'s last sync`;
    item.resourceUri = vscode.Uri.file(n.path);
    item.contextValue = n.kind === 'removed' ? 'removedFile' : 'driftedFile';
    if (n.kind !== 'removed') {
      item.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(n.path)] };
    } else {
      item.iconPath = new vscode.ThemeIcon('trash');
    }
    return item;
  }
}

class DriftDecorations implements vscode.FileDecorationProvider {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeFileDecorations = this.changed.event;

  constructor(private readonly model: () => HarnessSyncModel) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== 'file') return undefined;
    const ds = this.model().driftFor(uri.fsPath);
    if (ds.length === 0) return undefined;
    return new vscode.FileDecoration('HS', `Drifted since the last HarnessSync sync (${ds.map((d) => d.target).join(', ')})`,
      new vscode.ThemeColor('list.warningForeground'));
  }
}

export function activate(context: vscode.ExtensionContext): void {
  const out = vscode.window.createOutputChannel('HarnessSync');
  const bar = vscode.window.createStatusBarItem('harnesssync.status', vscode.StatusBarAlignment.Left, 50);
  bar.name = 'HarnessSync';
  bar.command = 'harnesssync.status';
  bar.show();
  let model: HarnessSyncModel;
  const tree = new DriftTree(() => model);
  const decorations = new DriftDecorations(() => model);
  // The drift last told about per file, so that a notification is shown once.
  const told = new Map<string, string>();

  const render = () => {
    bar.text = model.statusText();
    bar.tooltip = model.tooltip();
    bar.backgroundColor = model.showsDrift() ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    tree.refresh();
    decorations.refresh();
    checkActiveEditor();
  };

  const checkActiveEditor = () => {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || doc.uri.scheme !== 'file') return;
    const file = doc.uri.fsPath;
    const ds = model.driftFor(file);
    const sig = ds.map((d) => d.target).join(',');
    if (told.get(file) === sig) return;
    told.set(file, sig);
    if (ds.length === 0) return;
    const names = ds.map((d) => d.target).join(', ');
    void vscode.window.showWarningMessage(
      `${path.basename(file)} has changed since HarnessSync last synced it (${names}).`, 'Accept as baseline', 'Show drift',
    ).then((choice) => {
      if (choice === 'Accept as baseline') void acceptFile(file, ds);
      else if (choice === 'Show drift') void vscode.commands.executeCommand('harnesssync.drift', ds[0].target);
    });
  };

  const start = () => {
    const c = config();
    model = new HarnessSyncModel({ socket: c.socket, hsctlPath: c.hsctlPath, autostart: c.autostart });
    model.on('change', render);
    model.on('log', (m: string) => out.appendLine(m));
    model.on('problem', (m: string) => {
      out.appendLine(`problem: ${m}`);
      void vscode.window.showErrorMessage(`HarnessSync: ${m}`);
    });
    model.on('warning', (m: string) => {
      out.appendLine(`warning: ${m}`);
      void vscode.window.showWarningMessage(`HarnessSync: ${m}`);
    });
    model.on('triggerFailed', (m: string, p: { name: string }) => {
      out.appendLine(`warning: ${m}`);
      void vscode.window.showWarningMessage(`HarnessSync: ${m}`, 'Show log').then((choice) => {
        if (choice === 'Show log') void vscode.commands.executeCommand('harnesssync.triggerLog', p.name);
      });
    });
    model.start();
    render();
  };

  const acceptFile = async (file: string, ds: TargetDrift[]) => {
    try {
      for (const d of ds) await model.accept(d.target, [file]);
      void vscode.window.showInformationMessage(`HarnessSync: ${path.basename(file)} is the new baseline for ${ds.map((d) => d.target).join(', ')}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`HarnessSync: accept failed: ${(e as Error).message}`);
    }
  };

  const pickTarget = async (): Promise<string | undefined> => {
    const names = model.drifts().map((d) => d.target);
    if (names.length === 0) {
      void vscode.window.showInformationMessage('HarnessSync: no target is tracked yet.');
      return undefined;
    }
    if (names.length === 1) return names[0];
    const items = model.treeRows().map((r) => ({ label: r.label, description: r.description, target: r.target }));
    return (await vscode.window.showQuickPick(items, { placeHolder: 'Which target?' }))?.target;
  };

  context.subscriptions.push(
    out, bar,
    vscode.window.registerTreeDataProvider('harnesssync.drift', tree),
    vscode.window.registerFileDecorationProvider(decorations),
    vscode.window.onDidChangeActiveTextEditor(() => checkActiveEditor()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('harnesssync.socket') || e.affectsConfiguration('harnesssync.hsctlPath')
          || e.affectsConfiguration('harnesssync.autostart')) {
        model.stop();
        start();
      }
    }),
    vscode.commands.registerCommand('harnesssync.status', async () => {
      try {
        const report = await model.status();
        out.appendLine(formatStatus(report));
        out.show(true);
      } catch (e) {
        void vscode.window.showErrorMessage(`HarnessSync: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('harnesssync.drift', async (arg?: string | TreeTarget) => {
      try {
        const target = typeof arg === 'string' ? arg : arg?.target ?? await pickTarget();
        if (!target) return;
        const d = await model.drift(target);
        const items = [
          ...d.changed.map((p) => ({ label: path.basename(p), description: `changed · ${path.dirname(p)}`, p })),
          ...d.added.map((p) => ({ label: path.basename(p), description: `added · ${path.dirname(p)}`, p })),
          ...d.removed.map((p) => ({ label: path.basename(p), description: `removed · ${path.dirname(p)}`, p: '' })),
          ...d.errors.map((e) => ({ label: path.basename(e.path), description: `unreadable: ${e.reason}`, p: '' })),
        ];
        if (items.length === 0) {
          void vscode.window.showInformationMessage(`HarnessSync: ${target} has no drift.`);
          return;
        }
        const pick = await vscode.window.showQuickPick(items, { placeHolder: `Drifted files of ${target}: open one` });
        if (pick?.p) await vscode.window.showTextDocument(vscode.Uri.file(pick.p));
      } catch (e) {
        void vscode.window.showErrorMessage(`HarnessSync: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('harnesssync.accept', async (arg?: TreeFile | vscode.Uri) => {
      let file: string | undefined;
      if (arg instanceof vscode.Uri) file = arg.fsPath;
      else if (arg && isFile(arg)) file = arg.path;
      else file = vscode.window.activeTextEditor?.document.uri.fsPath;
      let ds = file ? model.driftFor(file) : [];
      if (!file || ds.length === 0) {
        const files = model.treeRows().flatMap((r) => r.files.filter((f) => f.kind !== 'unreadable'));
        if (files.length === 0) {
          void vscode.window.showInformationMessage('HarnessSync: nothing has drifted.');
          return;
        }
        const pick = await vscode.window.showQuickPick(
          files.map((f) => ({ label: f.label, description: `${f.target} · ${f.description}`, f })),
          { placeHolder: 'Accept which file as the new baseline?' });
        if (!pick) return;
        file = pick.f.path;
        ds = model.driftFor(file);
      }
      await acceptFile(file, ds);
    }),
    vscode.commands.registerCommand('harnesssync.triggerLog', async (name?: string) => {
      try {
        if (typeof name !== 'string' || !name) {
          const names = await model.triggerNames();
          if (names.length === 0) {
            void vscode.window.showInformationMessage('HarnessSync: no trigger is set (hsctl trigger set).');
            return;
          }
          const last = model.lastFailedTrigger;
          const ordered = last && names.includes(last) ? [last, ...names.filter((n) => n !== last)] : names;
          name = ordered.length === 1 ? ordered[0]
            : await vscode.window.showQuickPick(ordered, { placeHolder: 'The log of which trigger?' });
          if (!name) return;
        }
        out.appendLine(formatTriggerLog(name, await model.triggerLog(name)));
        out.show(true);
      } catch (e) {
        void vscode.window.showErrorMessage(`HarnessSync: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('harnesssync.sync', async () => {
      const c = config();
      if (!c.syncCommand) {
        void vscode.window.showErrorMessage('HarnessSync: set harnesssync.syncCommand to the command that syncs (for example your HarnessSync sync command).');
        return;
      }
      out.appendLine(`$ ${c.syncCommand}`);
      // Without --wait, hsctl waits its turn for the lock: the notification can cancel that.
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'HarnessSync: syncing', cancellable: true },
        (_progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          return runSync({ hsctlPath: c.hsctlPath, command: c.syncCommand, socket: c.socket, signal: abort.signal,
                           cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, onOutput: (t) => out.append(t) });
        });
      if (r.outcome === 'ran') void vscode.window.showInformationMessage('HarnessSync: sync done.');
      else if (r.outcome === 'coalesced') void vscode.window.showInformationMessage(`HarnessSync: ${r.message}.`);
      else if (r.outcome === 'busy') void vscode.window.showWarningMessage(`HarnessSync: a sync is already running: ${r.message}`);
      else void vscode.window.showErrorMessage(`HarnessSync: sync failed: ${r.message}`);
    }),
    { dispose: () => model.stop() },
  );
  start();
}

export function deactivate(): void {
  // The subscriptions dispose the model and the connection.
}
