// A loopback WebSocket→TCP proxy, the same job Neon's proxy does in front of a plain
// PostgreSQL: lets tests drive the Neon serverless driver against the local server.
import net from 'node:net';
import { WebSocketServer } from 'ws';

export interface WsProxy {
  /** host:port for neonConfig.wsProxy */
  address: string;
  /** WebSocket connections accepted so far (each is one PostgreSQL session). */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startWsProxy(pgHost: string, pgPort: number): Promise<WsProxy> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  let accepted = 0;
  wss.on('connection', (ws) => {
    accepted++;
    const tcp = net.connect(pgPort, pgHost);
    const pending: Buffer[] = [];
    let open = false;
    tcp.on('connect', () => {
      open = true;
      for (const b of pending) tcp.write(b);
      pending.length = 0;
    });
    ws.on('message', (data: Buffer) => (open ? tcp.write(data) : pending.push(data)));
    tcp.on('data', (d) => ws.readyState === ws.OPEN && ws.send(d));
    tcp.on('close', () => ws.close());
    tcp.on('error', () => ws.close());
    ws.on('close', () => tcp.destroy());
    ws.on('error', () => tcp.destroy());
  });
  const port = (wss.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
