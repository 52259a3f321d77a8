// The LLM chat client (OpenAI-compatible /v1/chat/completions, as served by vLLM) and the
// job-input reader for llm_chat / chat_completion / call_analysis. Jobs may carry domain
// metadata next to the chat fields; only the chat fields are ever sent.
import { invalidOutput, ProviderError } from './errors.ts';
import { postJson } from './http.ts';
import type { ChatResult, ChatUsage } from './types.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | ChatContentPart[];
  name?: string;
  tool_call_id?: string;
}

/** A multimodal content part ({type:'text'}, {type:'image_url'}, {type:'audio_url'}…), passed through. */
export type ChatContentPart = { type: string } & Record<string, unknown>;

export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  max_tokens?: number;
  temperature?: number;
  response_format?: Record<string, unknown>;
}

export interface ChatOptions {
  baseUrl: string;
  apiKey?: string;
  model: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Name in errors; default "llm". */
  provider?: string;
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

const badInput = (message: string) =>
  new ProviderError({ category: 'invalid_input', provider: 'llm', message });

function readContent(v: unknown, where: string): ChatMessage['content'] {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length > 0) {
    return v.map((p, i) => {
      if (!p || typeof p !== 'object' || typeof (p as { type?: unknown }).type !== 'string') {
        throw badInput(`${where}.content[${i}] must be an object with a string type`);
      }
      return p as ChatContentPart;
    });
  }
  throw badInput(`${where}.content must be a string or a non-empty array of content parts`);
}

function readMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw badInput('messages must be a non-empty array');
  return v.map((m, i) => {
    const where = `messages[${i}]`;
    if (!m || typeof m !== 'object' || Array.isArray(m)) throw badInput(`${where} must be an object`);
    const o = m as Record<string, unknown>;
    if (typeof o['role'] !== 'string' || !ROLES.has(o['role'])) {
      throw badInput(`${where}.role must be one of system, user, assistant, tool`);
    }
    // Copy only what the API defines: a message object may carry caller metadata too.
    const msg: ChatMessage = {
      role: o['role'] as ChatMessage['role'],
      content: readContent(o['content'], where),
    };
    if (typeof o['name'] === 'string') msg.name = o['name'];
    if (typeof o['tool_call_id'] === 'string') msg.tool_call_id = o['tool_call_id'];
    return msg;
  });
}

function readResponseFormat(v: unknown): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'json' || v === 'json_object') return { type: 'json_object' };
  if (v === 'text') return { type: 'text' };
  if (typeof v === 'object' && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string') {
    return v as Record<string, unknown>;
  }
  throw badInput('response_format must be {"type": "text" | "json_object" | "json_schema", ...}');
}

/**
 * Builds the request body from a job input. Explicit `messages` win; a compact `system`
 * is prepended when the messages have none, and a compact `user` is appended as the last
 * turn. Without messages, `user` is required. Throws ProviderError(invalid_input).
 */
export function buildChatBody(input: unknown, model: string): ChatRequestBody {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw badInput('input must be an object');
  const o = input as Record<string, unknown>;
  for (const k of ['system', 'user'] as const) {
    if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'string')
      throw badInput(`${k} must be a string`);
  }
  const system = typeof o['system'] === 'string' && o['system'].trim() !== '' ? o['system'] : undefined;
  const user = typeof o['user'] === 'string' && o['user'].trim() !== '' ? o['user'] : undefined;

  let messages: ChatMessage[];
  if (o['messages'] !== undefined && o['messages'] !== null) {
    messages = readMessages(o['messages']);
    if (system && !messages.some((m) => m.role === 'system'))
      messages.unshift({ role: 'system', content: system });
    if (user) messages.push({ role: 'user', content: user });
  } else {
    if (!user) throw badInput('input needs messages or a non-empty user field');
    messages = system ? [{ role: 'system', content: system }] : [];
    messages.push({ role: 'user', content: user });
  }

  const body: ChatRequestBody = { model, messages };
  const maxTokens = o['max_tokens'];
  if (maxTokens !== undefined && maxTokens !== null) {
    if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
      throw badInput('max_tokens must be a positive integer');
    }
    body.max_tokens = maxTokens;
  }
  const temperature = o['temperature'];
  if (temperature !== undefined && temperature !== null) {
    if (
      typeof temperature !== 'number' ||
      !Number.isFinite(temperature) ||
      temperature < 0 ||
      temperature > 2
    ) {
      throw badInput('temperature must be a number between 0 and 2');
    }
    body.temperature = temperature;
  }
  const responseFormat = readResponseFormat(o['response_format']);
  if (responseFormat) body.response_format = responseFormat;
  return body;
}

/** `${base}/v1/chat/completions`, tolerating a base that already ends in /v1. */
export function chatCompletionsUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${/\/v1$/.test(base) ? base : `${base}/v1`}/chat/completions`;
}

const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/** Validates a chat completion answer; `content` must be a string. */
export function parseChatResponse(
  json: unknown,
  fallbackModel: string,
  provider: string,
): Omit<ChatResult, 'duration_ms'> {
  if (!json || typeof json !== 'object') throw invalidOutput(provider, 'answer is not a JSON object');
  const o = json as Record<string, unknown>;
  const choice = Array.isArray(o['choices'])
    ? (o['choices'][0] as Record<string, unknown> | undefined)
    : undefined;
  const message =
    choice && typeof choice === 'object'
      ? (choice['message'] as Record<string, unknown> | undefined)
      : undefined;
  const content = message && typeof message === 'object' ? message['content'] : undefined;
  if (typeof content !== 'string')
    throw invalidOutput(provider, 'answer has no choices[0].message.content string');
  const u = (o['usage'] && typeof o['usage'] === 'object' ? o['usage'] : {}) as Record<string, unknown>;
  const usage: ChatUsage = {
    prompt_tokens: count(u['prompt_tokens']),
    completion_tokens: count(u['completion_tokens']),
    total_tokens: count(u['total_tokens']) || count(u['prompt_tokens']) + count(u['completion_tokens']),
  };
  return {
    content,
    model: typeof o['model'] === 'string' && o['model'] ? o['model'] : fallbackModel,
    usage,
    finish_reason: typeof choice?.['finish_reason'] === 'string' ? choice['finish_reason'] : null,
  };
}

/** POSTs a prepared body to the chat completions endpoint and validates the answer. */
export async function postChat(body: ChatRequestBody, opts: ChatOptions): Promise<ChatResult> {
  const provider = opts.provider ?? 'llm';
  const started = performance.now();
  const res = await postJson({
    url: chatCompletionsUrl(opts.baseUrl),
    body,
    headers: opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {},
    timeoutMs: opts.timeoutMs,
    ...(opts.signal && { signal: opts.signal }),
    provider,
    secrets: [opts.apiKey],
  });
  return {
    ...parseChatResponse(res.json, opts.model, provider),
    duration_ms: Math.round(performance.now() - started),
  };
}

/** Runs one chat job: reads the chat fields of `input`, calls the LLM, returns the job result. */
export async function runChat(input: unknown, opts: ChatOptions): Promise<ChatResult> {
  return postChat(buildChatBody(input, opts.model), opts);
}
