// The LLM handler: `llm_chat`, `chat_completion` and `call_analysis` jobs whose
// model_profile equals LLM_MODEL, sent to LLM_BASE_URL's OpenAI-compatible
// /v1/chat/completions (vLLM). The provider client reads only the chat fields of the
// input (messages | system/user, max_tokens, temperature, response_format), so domain
// metadata a caller puts in `input` is never sent. Without LLM_BASE_URL the handler is
// left out and /worker/status says why.
import type { Config } from '../../lib/config/schema.ts';
import { runChat } from '../../lib/providers/llm.ts';
import type { HandlerEntry } from '../handler.ts';

export const LLM_TASK_TYPES = ['llm_chat', 'chat_completion', 'call_analysis'] as const;

export function llmHandler(config: Config): HandlerEntry {
  const base = { name: 'llm', taskTypes: LLM_TASK_TYPES, modelProfiles: [config.LLM_MODEL] };
  const baseUrl = config.LLM_BASE_URL;
  if (!baseUrl) return { ...base, reason: 'LLM_BASE_URL is not set' };
  return {
    ...base,
    provider: 'llm',
    pool: 'llm',
    async run(job, { signal, log }) {
      // Sizes only: inputs are the caller's data and may hold personal information.
      log.debug({ input_bytes: JSON.stringify(job.input).length }, 'calling the LLM');
      const r = await runChat(job.input, {
        baseUrl,
        model: config.LLM_MODEL,
        timeoutMs: config.LLM_TIMEOUT,
        signal,
        provider: 'llm',
        ...(config.LLM_API_KEY && { apiKey: config.LLM_API_KEY }),
      });
      log.debug(
        { content_chars: r.content.length, total_tokens: r.usage.total_tokens, duration_ms: r.duration_ms },
        'LLM answered',
      );
      return {
        content: r.content,
        model: r.model,
        usage: r.usage,
        duration_ms: r.duration_ms,
        finish_reason: r.finish_reason,
      };
    },
  };
}
