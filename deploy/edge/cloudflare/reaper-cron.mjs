// Cloudflare Workers entry for the lease reaper: the Cron Trigger in wrangler.toml
// ([env.reaper]) calls `scheduled`, which runs the POST /api/v1/jobs/reap bundle once.
// wrangler bundles this file together with the imported dist/ bundle.
import reap from '../../../dist/functions/jobs-reap.mjs';
import { reapOnSchedule } from './scheduled-reap.mjs';

export default {
  /** @param {unknown} _controller @param {Record<string, unknown>} env @param {unknown} ctx */
  async scheduled(_controller, env, ctx) {
    await reapOnSchedule(reap, env, ctx);
  },
};
