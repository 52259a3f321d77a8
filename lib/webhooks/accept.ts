// Create-time checks of a job's webhook: a 400 now beats a delivery that can only fail
// later. The URL must pass the static rules (lib/webhooks/url.ts) and the caller must
// have a signing secret, since an unsigned webhook is one a receiver cannot trust.
import type { Config } from '../config/schema.ts';
import { AppError } from '../errors.ts';
import { webhookSecret } from './dispatch.ts';
import { checkWebhookUrl } from './url.ts';

type Issue = { path: string; message: string };

export function webhookIssues(
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_SECRETS' | 'WEBHOOK_ALLOWED_HOSTS'>,
  job: { owner_service: string; webhook_url?: string | undefined },
  prefix = '',
): Issue[] {
  if (job.webhook_url === undefined) return [];
  const refused = checkWebhookUrl(job.webhook_url, config.WEBHOOK_ALLOWED_HOSTS);
  if (refused) return [{ path: `${prefix}webhook_url`, message: refused }];
  if (!webhookSecret(config, job.owner_service))
    return [
      {
        path: `${prefix}webhook_url`,
        message: `no webhook signing secret is configured for ${job.owner_service} (WEBHOOK_SECRETS or WEBHOOK_SECRET)`,
      },
    ];
  return [];
}

export function assertWebhookAccepted(
  config: Parameters<typeof webhookIssues>[0],
  job: Parameters<typeof webhookIssues>[1],
): void {
  const issues = webhookIssues(config, job);
  if (issues.length > 0) throw new AppError('validation_error', 'invalid request body', { issues });
}
