// Copies Swagger UI and ReDoc (pinned in package-lock.json) into ../static/apidocs/, where the
// gateway serves them for /docs and /redoc: the API documentation works without internet.
// Run by `make apidocs` after `npm ci`. Their license files travel with them.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'static', 'apidocs');
const modules = join(here, 'node_modules');
mkdirSync(out, { recursive: true });

const files = {
  'swagger-ui-dist/swagger-ui-bundle.js': 'swagger-ui-bundle.js',
  'swagger-ui-dist/swagger-ui.css': 'swagger-ui.css',
  'swagger-ui-dist/favicon-32x32.png': 'favicon-32x32.png',
  'redoc/bundles/redoc.standalone.js': 'redoc.standalone.js',
};
for (const [from, to] of Object.entries(files)) {
  copyFileSync(join(modules, from), join(out, to));
}

// ReDoc's footer shows Redocly's logo from their CDN: point it at an empty data: URL instead,
// which fails to load, and ReDoc then leaves the logo out (its onError handler). No request
// leaves the machine and the page's CSP is not violated.
const redoc = join(out, 'redoc.standalone.js');
const logo = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const code = readFileSync(redoc, 'utf8');
if (code.split(logo).length !== 2) throw new Error(`expected one ${logo} in ${redoc}`);
writeFileSync(redoc, code.replace(logo, 'data:,'));
if (/https?:\/\/cdn\./.test(readFileSync(redoc, 'utf8'))) throw new Error(`a CDN URL is left in ${redoc}`);

const notices = [];
for (const name of ['swagger-ui-dist', 'redoc']) {
  const meta = JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8'));
  const license = readFileSync(join(modules, name, 'LICENSE'), 'utf8').trim();
  notices.push(`${name}@${meta.version} (${meta.license})\n\n${license}`);
}
for (const bundled of ['swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt',
  'redoc/bundles/redoc.standalone.js.LICENSE.txt']) {
  notices.push(`${bundled}:\n\n${readFileSync(join(modules, bundled), 'utf8').trim()}`);
}
writeFileSync(join(out, 'LICENSES.txt'), `${notices.join('\n\n----\n\n')}\n`);
console.log(`API docs assets in ${out}`);
