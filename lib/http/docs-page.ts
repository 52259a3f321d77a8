// The /docs page: a self-contained HTML rendering of the OpenAPI document (no CDN: works
// offline). Pure: functions/api-document.ts renders it once per process, or the build once.
const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The page for an OpenAPI document: every operation with its parameters, body, example and answers. */
export function renderDocsPage(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<
    string,
    Record<
      string,
      {
        summary: string;
        requestBody?: unknown;
        parameters?: unknown[];
        responses: Record<string, { description: string }>;
      }
    >
  >;
  const ops = Object.entries(paths).flatMap(([p, methods]) =>
    Object.entries(methods).map(([m, op]) => {
      const body = op.requestBody as
        | { content: { 'application/json': { schema: unknown; example?: unknown } } }
        | undefined;
      const json = body?.content['application/json'];
      const responses = Object.entries(op.responses)
        .map(([s, r]) => `<li><code>${esc(s)}</code> ${esc(r.description)}</li>`)
        .join('');
      return `<section><h2><span class="m ${m}">${m.toUpperCase()}</span> <code>${esc(p)}</code></h2><p>${esc(op.summary)}</p>
${op.parameters?.length ? `<details><summary>parameters</summary><pre>${esc(JSON.stringify(op.parameters, null, 2))}</pre></details>` : ''}
${json ? `<details><summary>request body</summary><pre>${esc(JSON.stringify(json.schema, null, 2))}</pre></details>` : ''}
${json?.example ? `<details open><summary>example</summary><pre>${esc(JSON.stringify(json.example, null, 2))}</pre></details>` : ''}
<ul>${responses}</ul></section>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AI Service API</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1d2330}
section{border-top:1px solid #dde;padding:.5rem 0}h2{font-size:1.05rem}.m{display:inline-block;min-width:3.5rem;border-radius:4px;padding:0 .4rem;color:#fff;font-size:.85rem;text-align:center}
.get{background:#2f7d4f}.post{background:#2f5c9d}pre{background:#f4f5f8;padding:.6rem;overflow:auto;font-size:.82rem}code{font-size:.92em}</style></head>
<body><h1>AI Service API</h1><p>${esc(String((doc.info as { description: string }).description))}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a></p>${ops.join('\n')}</body></html>`;
}
