#!/usr/bin/env node
// Runs the compiled CLI (`make setup` builds it into dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/services/decision/src/cli/main.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('arbiter: not built yet; run `make setup` first\n');
  process.exit(2);
}
await import(cli);
