-- Token-aware admission that learns what answers use (TOKEN_ESTIMATE_QUANTILE < 1):
-- ai_claim_controls reads a budgeted profile's most recent completed answers with their usage. Only
-- those rows have tokens_used (set on completion of a job that reserved tokens), so the
-- index holds nothing for any other job and costs other writes nothing.
CREATE INDEX ai_jobs_token_usage_idx ON ai_jobs (model_profile, finished_at DESC)
  WHERE tokens_used IS NOT NULL;
