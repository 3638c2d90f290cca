// One JSON-RPC connection to harnesssyncd over its Unix socket, with LSP-style
// framing (Content-Length headers), which the daemon accepts per message.
import * as net from 'node:net';
import {
  createMessageConnection, MessageConnection, ResponseError, SocketMessageReader, SocketMessageWriter,
} from 'vscode-jsonrpc/node';

export interface DaemonInfo {
  name: string;
  version: string;
  protocol: number;
  pid: number;
  state_file: string;
  socket: string;
  methods?: string[];
}

// The daemon answered with a JSON-RPC error.
export class RpcError extends Error {
  constructor(readonly method: string, readonly code: number, message: string, readonly data?: unknown) {
    super(message);
  }
}

// Nothing listens at the path (ENOENT, ECONNREFUSED): the daemon is not running.
export function isNotRunning(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

export class DaemonConnection {
  private closed = false;
  private readonly closeHandlers: Array<() => void> = [];

  private constructor(private readonly socket: net.Socket, private readonly rpc: MessageConnection) {
    rpc.onClose(() => this.markClosed());
    socket.on('close', () => this.markClosed());
    rpc.listen();
  }

  // Rejects with the socket's error (errno code kept) when connecting fails.
  static open(socketPath: string, timeoutMs = 5000): Promise<DaemonConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error(`connecting to ${socketPath} timed out`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // Errors after connecting show up as 'close'; this keeps them from being thrown.
        socket.on('error', () => undefined);
        const rpc = createMessageConnection(new SocketMessageReader(socket, 'utf-8'), new SocketMessageWriter(socket, 'utf-8'));
        resolve(new DaemonConnection(socket, rpc));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async request<T>(method: string, params?: object, timeoutMs = 30000): Promise<T> {
    if (this.closed) throw new Error(`not connected to harnesssyncd (${method})`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`harnesssyncd did not answer ${method} within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      const p = params === undefined ? this.rpc.sendRequest<T>(method) : this.rpc.sendRequest<T>(method, params);
      return await Promise.race([p, timeout]);
    } catch (e) {
      if (e instanceof ResponseError) throw new RpcError(method, e.code, e.message, e.data);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  onNotification(method: string, handler: (params: any) => void): void {
    this.rpc.onNotification(method, handler);
  }

  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  dispose(): void {
    this.rpc.dispose();
    this.socket.destroy();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.closeHandlers.splice(0)) h();
  }
}
