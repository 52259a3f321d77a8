// The OpenAPI document of every function (lib/http/openapi.ts generates it from their zod
// schemas), built once per process: its JSON text as served, and the /docs page rendering
// it. Not an endpoint: the openapi and docs functions read it. `npm run build` generates
// both once and bundles a module holding only those texts in place of this one
// (scripts/build.ts), so the openapi and docs bundles carry neither the generator nor the
// other functions; under tsx (dev, tests) they are generated here on first use. Both
// serve the same bytes (test/build/openapi-bundle.test.ts).
//
// The function list is functions/index.ts's ALL_FUNCTIONS, spelled out here rather than
// imported: index.ts reads openapi.ts's export at load, and openapi.ts imports this module,
// so importing index.ts here would make loading openapi.ts first a TDZ error. The
// imports below are only read when the document is first built.
import { renderDocsPage } from '../lib/http/docs-page.ts';
import { openApiDocument } from '../lib/http/openapi.ts';
import docs from './docs.ts';
import openapi from './openapi.ts';
import { ROUTES } from './routes.ts';

let doc: Record<string, unknown> | undefined;
let text: string | undefined;
let page: string | undefined;

export function apiDocument(): Record<string, unknown> {
  doc ??= openApiDocument([...ROUTES, openapi, docs]);
  return doc;
}

/** The body of GET /api/v1/openapi.json. */
export function apiDocumentJson(): string {
  text ??= JSON.stringify(apiDocument());
  return text;
}

/** The body of GET /docs. */
export function apiDocsPage(): string {
  page ??= renderDocsPage(apiDocument());
  return page;
}
