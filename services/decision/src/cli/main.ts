/**
 * `arbiter` — the command line:
 *   arbiter serve                                      start the service (configured by ARBITER_* variables);
 *                                                      exit 2 on a bad setting, 1 when it cannot start (busy port,
 *                                                      missing policy folder, unreadable key)
 *   arbiter receipts verify --jwks KEYS.json FILE      check receipt signatures and chains offline
 *   arbiter keys generate [--out DIR]                  write a new Ed25519 signing key pair
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { StartError, startArbiter } from '../main.js';
import { runKeysGenerate, runReceiptsVerify } from '../receipts/cli.js';

const USAGE = `usage:
  arbiter serve
  arbiter receipts verify --jwks KEYS.json RECEIPTS.jsonl
  arbiter keys generate [--out DIR]`;

const print = (line: string) => process.stdout.write(`${line}\n`);

async function serve(): Promise<number> {
  const config = loadConfig();
  const arbiter = await startArbiter(config, { processWide: true, requirePolicyFolders: true });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await arbiter.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  try {
    if (command === 'serve') return await serve();
    if (command === 'receipts' && sub === 'verify') {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { jwks: { type: 'string' } },
        allowPositionals: true,
      });
      if (!values.jwks || positionals.length !== 1) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      return await runReceiptsVerify({ jwksPath: values.jwks, receiptsPath: positionals[0]! }, print);
    }
    if (command === 'keys' && sub === 'generate') {
      const { values } = parseArgs({ args: rest, options: { out: { type: 'string', default: '.' } } });
      return await runKeysGenerate({ outDir: values.out }, print);
    }
  } catch (err) {
    if (err instanceof ConfigError || (err instanceof TypeError && 'code' in err)) {
      process.stderr.write(`arbiter: ${err.message}\n`);
      return 2;
    }
    if (err instanceof StartError) {
      process.stderr.write(`arbiter: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
