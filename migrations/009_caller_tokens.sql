-- Caller tokens (issue 15): besides the admin AI_SERVICE_TOKEN, named tokens bound to
-- owner_service values and scopes. Only a SHA-256 of each token is stored (tokens are
-- 256-bit random, so a fast hash is enough and a leaked table reveals no token);
-- requests are matched by that hash through the unique index.
CREATE TABLE ai_caller_tokens (
  id             uuid PRIMARY KEY DEFAULT ai_uuidv7(),
  name           text NOT NULL UNIQUE,
  token_hash     text NOT NULL UNIQUE,
  -- Jobs of these callers only: create, read, retry, cancel, stats.
  owner_services text[] NOT NULL DEFAULT '{}',
  -- jobs:read, jobs:write, jobs:admin (retry/cancel by filter), worker (claim and the lease calls).
  scopes         text[] NOT NULL CHECK (scopes <@ ARRAY['jobs:read', 'jobs:write', 'jobs:admin', 'worker']::text[]),
  -- A worker token claims only these task types / profiles (NULL: any).
  task_types     text[],
  model_profiles text[],
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz
);
