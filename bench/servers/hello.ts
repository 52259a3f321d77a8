// The ceiling: a bare Hono hello-world on the same adapter (@hono/node-server).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.text('Hello Hono!'));
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stdout.write(`READY ${info.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
