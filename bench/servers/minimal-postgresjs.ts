// minimal-pg.ts with porsager's `postgres` driver instead of `pg` (pool of 10, its default
// automatic prepared statements and pipelining): issue 14's "try postgres against pg on
// this path". Same routes, same statements, same JSON out.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL!, { max: 10 });
const app = new Hono();
app.get('/jobs/:id', async (c) => {
  const rows = await sql`SELECT * FROM ai_jobs WHERE id = ${c.req.param('id')}`;
  return rows[0] ? c.json(rows[0]) : c.json({ error: 'not found' }, 404);
});
app.post('/jobs', async (c) => {
  const b = await c.req.json();
  const rows = await sql`
    INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input)
    VALUES (${b.owner_service}, ${b.owner_ref}, ${b.task_type}, ${b.model_profile}, ${sql.json(b.input)})
    RETURNING *`;
  return c.json(rows[0], 201);
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stdout.write(`READY ${info.port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => {
    void sql.end().then(() => process.exit(0));
  });
});
