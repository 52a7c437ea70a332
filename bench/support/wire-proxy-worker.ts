/**
 * The wire proxies' own thread: TCP forwarders on 127.0.0.1 that count every byte they pass,
 * kept off the bench's main thread so hashing a tree there never holds up the traffic it
 * measures. Counters live in shared memory: slot 2i is what went to target i, 2i+1 what came
 * back from it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

export type ToWorker = { type: 'add'; slot: number; targetPort: number } | { type: 'close' };
export type FromWorker = { type: 'added'; slot: number; port: number } | { type: 'failed'; slot: number; message: string } | { type: 'closed' };

const counters = new Float64Array(workerData as SharedArrayBuffer);
const servers: Server[] = [];
const sockets = new Set<Socket>();
const port = parentPort!;

function track(socket: Socket): void {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
}

/** Forwards one accepted connection to the target, counting both directions; either side closing closes the other. */
function forward(client: Socket, slot: number, targetPort: number): void {
  const target = connect({ host: '127.0.0.1', port: targetPort });
  track(client);
  track(target);
  client.setNoDelay(true);
  target.setNoDelay(true);
  client.on('data', (d: Buffer) => {
    counters[2 * slot] = counters[2 * slot]! + d.length;
  });
  target.on('data', (d: Buffer) => {
    counters[2 * slot + 1] = counters[2 * slot + 1]! + d.length;
  });
  client.pipe(target);
  target.pipe(client);
  const closeBoth = (): void => {
    client.destroy();
    target.destroy();
  };
  client.once('error', closeBoth).once('close', closeBoth);
  target.once('error', closeBoth).once('close', closeBoth);
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'close') {
    for (const s of sockets) s.destroy();
    let open = servers.length;
    if (open === 0) port.postMessage({ type: 'closed' } satisfies FromWorker);
    for (const server of servers) server.close(() => --open === 0 && port.postMessage({ type: 'closed' } satisfies FromWorker));
    return;
  }
  const server = createServer((client) => forward(client, m.slot, m.targetPort));
  servers.push(server);
  server.once('error', (err) => port.postMessage({ type: 'failed', slot: m.slot, message: err.message } satisfies FromWorker));
  server.listen(0, '127.0.0.1', () => {
    const { port: listening } = server.address() as { port: number };
    port.postMessage({ type: 'added', slot: m.slot, port: listening } satisfies FromWorker);
  });
});
