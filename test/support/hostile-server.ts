/**
 * A server that is not an SSH server, for tests of what lvsc does with one: a
 * Node `net` server on 127.0.0.1 (nothing else is ever connected to) that the
 * test starts and stops itself. It sends a fixed greeting and keeps its side
 * of the TCP connection open. Once the client has ended its side, it keeps
 * sending a byte now and then, so that it notices (by a reset) when the client
 * has really closed the connection: a half-closed socket (ssh2's `end()`)
 * keeps receiving quietly.
 */
import { createServer, type Socket } from 'node:net';

export interface HostileServer {
  port: number;
  /** Resolves when a client's connection is gone for good (closed, or reset when the server wrote to it). */
  clientGone(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the server; `greeting` goes to each client as it connects (nothing when empty). */
export async function hostileServer(greeting: string | Buffer): Promise<HostileServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let gone!: () => void;
  const goneOnce = new Promise<void>((resolve) => (gone = resolve));
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.resume();
    if (greeting.length > 0) socket.write(greeting);
    socket.on('end', () => {
      const timer = setInterval(() => socket.write('\n'), 20);
      timers.add(timer);
      socket.on('close', () => clearInterval(timer));
    });
    socket.on('close', () => {
      sockets.delete(socket);
      gone();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the hostile server has no port');
  return {
    port: address.port,
    clientGone: () => goneOnce,
    stop: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves with true when `promise` settles within `ms`, false otherwise: a bound that never hangs a test. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
