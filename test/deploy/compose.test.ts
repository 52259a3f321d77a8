// The AI-server compose override for the temporary audio comparison endpoints.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIO_SERVICES, type ComposeFile, checkCompose, flagValue, parseYamlDocs, path } from './checks.ts';

const COMPOSE = path('deploy/ai-server/docker-compose.audio.yml');
const load = () => parseYamlDocs(readFileSync(COMPOSE, 'utf8'), COMPOSE)[0] as ComposeFile;
const argv = (file: ComposeFile, service: string) => {
  const s = file.services![service]!;
  return [...(s.entrypoint as string[]), ...(s.command as string[])];
};

// The start commands exactly as the specification gives them.
const START = {
  'qwen-audio':
    'docker compose -f docker-compose.yml -f docker-compose.audio.yml --profile qwen-audio up -d qwen-audio',
  'voxtral-small':
    'docker compose -f docker-compose.yml -f docker-compose.audio.yml --profile voxtral-small up -d voxtral-small',
};

describe('deploy/ai-server/docker-compose.audio.yml', () => {
  it('passes every check', () => {
    expect(checkCompose(load())).toEqual([]);
  });

  it('gates each model behind its own profile, on 8003 and 8004', () => {
    const file = load();
    expect(Object.keys(file.services ?? {}).sort()).toEqual(['qwen-audio', 'voxtral-small']);
    for (const want of AUDIO_SERVICES) {
      const s = file.services![want.service]!;
      expect(s.profiles).toEqual([want.profile]);
      expect(s.ports).toEqual([`${want.port}:${want.port}`]);
      expect(flagValue(argv(file, want.service), '--port')).toBe(String(want.port));
    }
  });

  it('starts Voxtral with the mistral tokenizer, config and load formats', () => {
    const args = argv(load(), 'voxtral-small');
    expect(args.slice(0, 3)).toEqual(['vllm', 'serve', 'mistralai/Voxtral-Small-24B-2507']);
    for (const flag of ['--tokenizer_mode', '--config_format', '--load_format'])
      expect(flagValue(args, flag), flag).toBe('mistral');
  });

  it('serves the model names the AI Service sends by default', () => {
    const file = load();
    expect(argv(file, 'qwen-audio')).toContain('Qwen/Qwen2-Audio-7B-Instruct');
    expect(flagValue(argv(file, 'qwen-audio'), '--served-model-name')).toBe('Qwen/Qwen2-Audio-7B-Instruct');
    expect(flagValue(argv(file, 'voxtral-small'), '--served-model-name')).toBe(
      'mistralai/Voxtral-Small-24B-2507',
    );
  });

  it('declares the named model cache volume it mounts', () => {
    const file = load() as ComposeFile & { volumes?: Record<string, unknown> };
    expect(Object.keys(file.volumes ?? {})).toContain('audio-model-cache');
  });

  it('builds the audio image from the same vLLM version it installs the audio extra for', () => {
    const dockerfile = readFileSync(path('deploy/ai-server/vllm-audio.Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM vllm\/vllm-openai:v\$\{VLLM_VERSION\}$/m);
    expect(dockerfile).toMatch(/"vllm\[audio\]==\$\{VLLM_VERSION\}"/);
  });

  it('documents the exact start commands and the AI Service variables to set afterwards', () => {
    const readme = readFileSync(path('deploy/ai-server/README.md'), 'utf8');
    const compose = readFileSync(COMPOSE, 'utf8');
    for (const cmd of Object.values(START)) {
      expect(readme).toContain(cmd);
      expect(compose).toContain(cmd);
    }
    expect(readme).toContain('QWEN_AUDIO_BASE_URL=http://10.2.3.5:8003');
    expect(readme).toContain('VOXTRAL_BASE_URL=http://10.2.3.5:8004');
    expect(readme).toContain('TRANSCRIPTION_PROVIDERS=whisperx,qwen2-audio,voxtral-small');
  });
});

type Breakage = [string, (file: ComposeFile) => void, RegExp];
const svc = (file: ComposeFile, name: string) => file.services![name]!;
const dropFlag = (file: ComposeFile, name: string, flag: string) => {
  const cmd = svc(file, name).command as string[];
  const i = cmd.indexOf(flag);
  cmd.splice(i, 2);
};

const breakages: Breakage[] = [
  [
    'a service without a profile',
    (f) => {
      delete svc(f, 'qwen-audio').profiles;
    },
    /qwen-audio: no profile/,
  ],
  [
    'an extra service that would start by default',
    (f) => {
      f.services!.sidecar = { image: 'busybox' };
    },
    /sidecar: no profile, so it starts by default/,
  ],
  [
    'the wrong profile name',
    (f) => {
      svc(f, 'voxtral-small').profiles = ['audio'];
    },
    /voxtral-small: not under profile voxtral-small/,
  ],
  [
    'the wrong published port',
    (f) => {
      svc(f, 'qwen-audio').ports = ['8005:8003'];
    },
    /does not publish port 8003/,
  ],
  [
    'a port mapping to where vLLM does not listen',
    (f) => {
      svc(f, 'voxtral-small').ports = ['8004:8000'];
    },
    /publishes 8004 to 8000, vLLM listens on 8004/,
  ],
  [
    'a missing Voxtral mistral flag',
    (f) => dropFlag(f, 'voxtral-small', '--load_format'),
    /voxtral-small: needs --load_format mistral/,
  ],
  [
    'no --max-model-len',
    (f) => dropFlag(f, 'qwen-audio', '--max-model-len'),
    /qwen-audio: sets no --max-model-len/,
  ],
  [
    'no GPU reservation',
    (f) => {
      delete svc(f, 'voxtral-small').deploy;
    },
    /voxtral-small: no GPU reservation/,
  ],
  [
    'a healthcheck elsewhere than /health',
    (f) => {
      svc(f, 'qwen-audio').healthcheck = { test: ['CMD', 'true'] };
    },
    /healthcheck does not call \/health/,
  ],
  [
    'no model cache',
    (f) => {
      svc(f, 'qwen-audio').volumes = [];
    },
    /no model cache volume/,
  ],
  [
    'a served name the AI Service does not send',
    (f) => {
      const cmd = svc(f, 'qwen-audio').command as string[];
      cmd[cmd.indexOf('--served-model-name') + 1] = 'qwen-audio';
    },
    /served model name qwen-audio differs/,
  ],
];

describe('the compose checks catch a broken compose file', () => {
  it.each(breakages)('%s', (_name, breakIt, problem) => {
    const file = structuredClone(load());
    breakIt(file);
    expect(checkCompose(file).join('\n')).toMatch(problem);
  });
});
