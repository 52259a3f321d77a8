// The ordered list of migration files. Kept as a list (not a directory scan) so edge
// bundles, which cannot read the disk, still know which migrations /readyz expects.
// A test checks it matches migrations/*.sql.
export const MIGRATIONS = [
  '001_jobs.sql',
  '002_notify_finished.sql',
  '003_cheaper_hot_path.sql',
  '005_queues.sql',
  '006_comparisons.sql',
  '007_webhooks.sql',
  '008_console.sql',
  '009_caller_tokens.sql',
  '010_claim_controls.sql',
  '011_cheaper_claim_controls.sql',
  '012_token_usage_index.sql',
  '013_finish_rollup.sql',
] as const;
