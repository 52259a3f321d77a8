// GET /docs — a self-contained page rendering the OpenAPI document (no CDN: works offline).
// The page comes from functions/api-document.ts: rendered at build time for the bundle, on
// first use under tsx.
import { defineFunction } from '../lib/http/define.ts';
import { apiDocsPage } from './api-document.ts';

const docs = defineFunction({
  name: 'docs',
  method: 'GET',
  path: '/docs',
  auth: false,
  access: 'open',
  db: false,
  summary: 'Human-readable API reference',
  responses: { 200: { description: 'the API reference as an HTML page', content: 'text/html' } },
  handler: (c) => c.html(apiDocsPage()),
});

export default docs;
