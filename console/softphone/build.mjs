// Builds ../static/vendor/jssip.min.js: JsSIP and its runtime dependencies in one minified IIFE
// that defines the global `JsSIP` (JsSIP 3.13 ships only CommonJS, no browser build), followed
// by the license texts of every bundled package. Run by `make softphone` after `npm ci`.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(here, '..', 'static', 'vendor', 'jssip.min.js');

// Runtime packages are the lock file's non-dev entries (what ends up in the bundle).
const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));
const notices = [];
for (const [path, meta] of Object.entries(lock.packages)) {
  if (!path.startsWith('node_modules/') || meta.dev) continue;
  const dir = join(here, path);
  const file = readdirSync(dir).find((name) => /^licen[cs]e/i.test(name));
  const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `license: ${meta.license}`;
  notices.push(`${path.slice('node_modules/'.length)}@${meta.version}\n\n${text}`);
}

await build({
  entryPoints: [join(here, 'entry.js')],
  bundle: true,
  format: 'iife',
  globalName: 'JsSIP',
  platform: 'browser',
  target: 'es2019',
  minify: true,
  legalComments: 'none',
  outfile,
  footer: { js: `/*! Bundled packages and their licenses:\n\n${notices.join('\n\n')
    .replaceAll('*/', '* /')}\n*/` },
  logLevel: 'info',
});
