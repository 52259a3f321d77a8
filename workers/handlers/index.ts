// The built-in handlers the configuration enables, and the ones it leaves out with why.
import type { Config } from '../../lib/config/schema.ts';
import type { Db } from '../../lib/db/port.ts';
import { type DisabledHandler, type Handler, type HandlerEntry, isDisabled } from '../handler.ts';
import { llmHandler } from './llm.ts';
import { transcribeHandlers } from './transcribe.ts';

/** `db`: the transcription comparisons write their parent job's result (see handlers/transcribe.ts). */
export function builtinHandlers(
  config: Config,
  db?: Db,
): { handlers: Handler[]; disabled: DisabledHandler[] } {
  const all: HandlerEntry[] = [llmHandler(config), ...transcribeHandlers(config, db)];
  return {
    handlers: all.filter((h): h is Handler => !isDisabled(h)),
    disabled: all.filter(isDisabled),
  };
}
