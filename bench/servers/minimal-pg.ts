// The API's own yardstick: a minimal Hono + pg server doing the same database work as
// GET /api/v1/jobs/{id} (one primary-key read) and POST /api/v1/jobs (one single-row
// insert), with no validation, auth, logging or metrics. Same adapter
// (@hono/node-server), same pool size as the API (DATABASE_POOL_MAX, 10).
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const app = new Hono();
app.get('/jobs/:id', async (c) => {
  const r = await pool.query('SELECT * FROM ai_jobs WHERE id = $1', [c.req.param('id')]);
  return r.rows[0] ? c.json(r.rows[0]) : c.json({ error: 'not found' }, 404);
});
app.post('/jobs', async (c) => {
  const b = await c.req.json();
  const r = await pool.query(
    `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input)
     VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING *`,
    [b.owner_service, b.owner_ref, b.task_type, b.model_profile, JSON.stringify(b.input)],
  );
  return c.json(r.rows[0], 201);
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stdout.write(`READY ${info.port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => {
    void pool.end().then(() => process.exit(0));
  });
});
