// `npm run bench` runs this first: the benchmark's peers (pg-boss, graphile-worker,
// autocannon) are bench/'s own package, so the product's `npm install` stays free of
// their Node 22 engine requirement (EBADENGINE). Installed once, when missing.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const missing = Object.keys(pkg.dependencies).filter(
  (d) => !existsSync(join(dir, 'node_modules', d, 'package.json')),
);
if (missing.length > 0) {
  process.stderr.write(`bench: installing ${missing.join(', ')} into bench/node_modules\n`);
  execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
}
