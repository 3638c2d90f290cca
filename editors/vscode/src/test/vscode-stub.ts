// A stand-in for the 'vscode' module, just enough of it for extension.ts to
// activate under plain node: there is no VS Code on the CI machine. It records
// what the extension registers and shows, for src/test/extension.test.ts.
import Module = require('node:module');

type Fn = (...args: any[]) => any;
const disposable = { dispose: () => undefined };

export class EventEmitter<T> {
  private readonly listeners: Array<(e: T) => void> = [];
  readonly event = (l: (e: T) => void) => {
    this.listeners.push(l);
    return disposable;
  };
  fire(e: T): void {
    for (const l of this.listeners) l(e);
  }
  dispose(): void {}
}

export const recorded = {
  commands: new Map<string, Fn>(),
  trees: new Map<string, any>(),
  decorations: [] as any[],
  statusBar: undefined as any,
  messages: [] as Array<{ level: string; text: string }>,
  editorListeners: [] as Fn[],
  settings: {} as Record<string, unknown>,
  output: [] as string[],
};

class Uri {
  readonly scheme = 'file';
  private constructor(readonly fsPath: string) {}
  static file(p: string): Uri {
    return new Uri(p);
  }
}

const message = (level: string) => (text: string) => {
  recorded.messages.push({ level, text });
  return Promise.resolve(undefined);
};

export const stub = {
  EventEmitter,
  Uri,
  StatusBarAlignment: { Left: 1, Right: 2 },
  TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  TreeItem: class {
    description?: string; tooltip?: string; resourceUri?: Uri; contextValue?: string; command?: unknown; iconPath?: unknown;
    constructor(readonly label: string, readonly collapsibleState: number) {}
  },
  ThemeIcon: class { constructor(readonly id: string) {} },
  ThemeColor: class { constructor(readonly id: string) {} },
  FileDecoration: class { constructor(readonly badge: string, readonly tooltip: string, readonly color: unknown) {} },
  window: {
    activeTextEditor: undefined as any,
    createOutputChannel: () => ({
      appendLine: (l: string) => recorded.output.push(l), append: (t: string) => recorded.output.push(t),
      show: () => undefined, dispose: () => undefined,
    }),
    createStatusBarItem: () => {
      recorded.statusBar = { text: '', show: () => undefined, dispose: () => undefined };
      return recorded.statusBar;
    },
    registerTreeDataProvider: (id: string, p: unknown) => {
      recorded.trees.set(id, p);
      return disposable;
    },
    registerFileDecorationProvider: (p: unknown) => {
      recorded.decorations.push(p);
      return disposable;
    },
    onDidChangeActiveTextEditor: (l: Fn) => {
      recorded.editorListeners.push(l);
      return disposable;
    },
    showErrorMessage: message('error'),
    showWarningMessage: message('warning'),
    showInformationMessage: message('info'),
    showQuickPick: () => Promise.resolve(undefined),
    showTextDocument: () => Promise.resolve(undefined),
    withProgress: (_o: unknown, task: Fn) => task({ report: () => undefined }, { onCancellationRequested: () => disposable }),
  },
  workspace: {
    workspaceFolders: undefined,
    getConfiguration: () => ({ get: (k: string, d: unknown) => (k in recorded.settings ? recorded.settings[k] : d) }),
    onDidChangeConfiguration: () => disposable,
  },
  commands: {
    registerCommand: (id: string, f: Fn) => {
      recorded.commands.set(id, f);
      return disposable;
    },
    executeCommand: (id: string, ...args: unknown[]) => recorded.commands.get(id)?.(...args),
  },
};

// require('vscode') gets the stub from now on.
export function installStub(): void {
  const m = Module as unknown as { _load: Fn };
  const load = m._load;
  m._load = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? stub : load.call(this, request, ...rest);
  };
}
