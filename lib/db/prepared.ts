// Hot statements that the pg driver runs as named (prepared) statements: PostgreSQL parses
// and plans each once per connection instead of on every call. A repository module marks
// its statement text with prepared(name, text) and keeps calling db.query(text, …) as
// before; drivers that do not prepare (Neon over HTTP/WebSocket, PGlite) see plain text.
// Only fixed texts belong here (a name must always mean the same text), and only
// statements whose plan does not depend on the parameters' values.
const names = new Map<string, string>();

export function prepared(name: string, text: string): string {
  const had = names.get(text);
  if (had !== undefined && had !== name) throw new Error(`statement already prepared as ${had}`);
  for (const [t, n] of names) if (n === name && t !== text) throw new Error(`statement name ${name} reused`);
  names.set(text, name);
  return text;
}

/** The prepared name of a statement text, or undefined when it runs unprepared. */
export const preparedName = (text: string): string | undefined => names.get(text);
