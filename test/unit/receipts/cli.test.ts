import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  parseReceiptsText,
  runKeysGenerate,
  runReceiptsVerify,
} from '../../../services/decision/src/receipts/cli.js';
import { generateSigningKey, loadSigningKey } from '../../../services/decision/src/receipts/keys.js';
import { buildCheckpoint } from '../../../services/decision/src/receipts/checkpoint.js';
import { signReceipt } from '../../../services/decision/src/receipts/sign.js';
import { UnparsedReceipt } from '../../../services/decision/src/receipts/verify.js';
import { chain, edited, interleave, jwksOf, receiptBody } from './fixtures.js';

const key = generateSigningKey();
const stream = interleave(
  chain('s-a', 3, () => key),
  chain('s-b', 3, () => key),
);
const jsonl = (items: unknown[]): string => items.map((r) => JSON.stringify(r)).join('\n') + '\n';

let dir: string;
let jwksPath: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arbiter-receipts-'));
  jwksPath = join(dir, 'keys.json');
  await writeFile(jwksPath, JSON.stringify(jwksOf(key)));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function verifyFile(content: string, jwks = jwksPath): Promise<{ code: number; lines: string[] }> {
  const receiptsPath = join(dir, `receipts-${Math.random().toString(36).slice(2)}.jsonl`);
  await writeFile(receiptsPath, content);
  const lines: string[] = [];
  const code = await runReceiptsVerify({ jwksPath: jwks, receiptsPath }, (line) => lines.push(line));
  return { code, lines };
}

describe('runReceiptsVerify', () => {
  it('exits 0 for intact JSON lines, blank lines and CRLF included', async () => {
    const content = `\n${jsonl(stream.slice(0, 3))}\r\n   \n${jsonl(stream.slice(3)).replace(/\n/g, '\r\n')}`;
    assert.deepEqual(await verifyFile(content), { code: 0, lines: ['verified 6 receipts in 2 sessions: OK'] });
  });

  it('accepts a JSON array and the GET /v1/sessions/{id}/receipts answer', async () => {
    assert.equal((await verifyFile(JSON.stringify(stream, null, 2))).code, 0);
    const answer = await verifyFile(JSON.stringify({ receipts: stream.filter((r) => r.session_id === 's-a') }));
    assert.deepEqual(answer, { code: 0, lines: ['verified 3 receipts in 1 session: OK'] });
  });

  it('exits 1 and prints one line per problem', async () => {
    const input = [
      ...stream.slice(0, 2),
      edited(stream[2]!, (r) => (r.decision = 'ALLOW')),
      ...stream.slice(4),
      stream[0],
    ];
    const { code, lines } = await verifyFile(jsonl(input));
    assert.equal(code, 1);
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? '', /^altered receipt=rcpt_s-a_2 session=s-a index=2: /);
    assert.match(lines[1] ?? '', /^dropped receipt=rcpt_s-b_3 session=s-b index=4: .*seq 2$/);
    assert.match(lines[2] ?? '', /^duplicate receipt=rcpt_s-a_1 session=s-a index=5: /);
    assert.equal(lines[3], 'verified 6 receipts in 2 sessions: 3 problems');
  });

  it('reports a line that is not JSON as malformed and goes on', async () => {
    const content = `${jsonl(stream.slice(0, 2))}\n{"receipt_id": \n${jsonl(stream.slice(2))}`;
    const { code, lines } = await verifyFile(content);
    assert.equal(code, 1);
    assert.match(lines[0] ?? '', /^malformed receipt=- session=- index=2: line 4 is not JSON: /);
    assert.equal(lines[1], 'verified 7 receipts in 2 sessions: 1 problem');
  });

  it('exits 1 when there is no receipt', async () => {
    assert.deepEqual(await verifyFile('\n\n'), {
      code: 1,
      lines: ['verified 0 receipts in 0 sessions: no receipts to verify'],
    });
  });

  it('reports receipts signed by a key missing from the JWKS', async () => {
    const other = generateSigningKey();
    const { code, lines } = await verifyFile(jsonl([signReceipt(receiptBody('s-c', 1, null), other)]));
    assert.equal(code, 1);
    assert.match(lines[0] ?? '', new RegExp(`^unknown_kid receipt=rcpt_s-c_1 session=s-c index=0: .*${other.kid}`));
  });

  it('exits 2 when a file cannot be read or the JWKS is not usable', async () => {
    const missing = join(dir, 'missing.json');
    const write = async (name: string, content: string): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    };
    const cases: [string, string, RegExp][] = [
      [missing, jsonl(stream), /^error: cannot read JWKS file .*missing\.json/],
      [await write('not-json.json', '{keys'), jsonl(stream), /^error: JWKS file .* is not JSON/],
      [await write('garbage.json', '{"keys": [1]}'), jsonl(stream), /^error: JWKS file .*: JWKS key 0 is not a JWK/],
      [
        await write('rsa-only.json', '{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}'),
        jsonl(stream),
        /has no Ed25519 keys/,
      ],
    ];
    for (const [jwks, content, message] of cases) {
      const { code, lines } = await verifyFile(content, jwks);
      assert.equal(code, 2, jwks);
      assert.equal(lines.length, 1);
      assert.match(lines[0] ?? '', message);
    }
    const lines: string[] = [];
    assert.equal(await runReceiptsVerify({ jwksPath, receiptsPath: missing }, (l) => lines.push(l)), 2);
    assert.match(lines[0] ?? '', /^error: cannot read receipts file /);
  });
});

describe('parseReceiptsText', () => {
  it('reads one receipt, pretty-printed or not, as a single item', () => {
    assert.deepEqual(parseReceiptsText(JSON.stringify(stream[0], null, 2)), [stream[0]]);
    assert.deepEqual(parseReceiptsText(`\uFEFF${JSON.stringify(stream[0])}\n`), [stream[0]]);
  });

  it('numbers unparseable lines from 1, counting blank ones', () => {
    const items = parseReceiptsText('\n{"a":1}\nnope\n');
    assert.deepEqual(items[0], { a: 1 });
    assert.ok(items[1] instanceof UnparsedReceipt);
    assert.match(items[1].detail, /^line 3 is not JSON/);
  });
});

describe('runKeysGenerate', () => {
  it('writes a 0600 private key and a public key, prints the kid, and never overwrites', async () => {
    const outDir = join(dir, 'keys', 'nested');
    const lines: string[] = [];
    assert.equal(await runKeysGenerate({ outDir }, (l) => lines.push(l)), 0);
    const privatePem = await readFile(join(outDir, PRIVATE_KEY_FILE), 'utf8');
    const loaded = loadSigningKey(privatePem);
    assert.equal((await stat(join(outDir, PRIVATE_KEY_FILE))).mode & 0o777, 0o600);
    assert.match(await readFile(join(outDir, PUBLIC_KEY_FILE), 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(lines.at(-1), `kid ${loaded.kid}`);

    const again: string[] = [];
    assert.equal(await runKeysGenerate({ outDir }, (l) => again.push(l)), 2);
    assert.match(again[0] ?? '', /already exists/);
    assert.equal(await readFile(join(outDir, PRIVATE_KEY_FILE), 'utf8'), privatePem);
  });

  it('produces a key whose receipts verify against its JWKS', async () => {
    const outDir = join(dir, 'keys2');
    await runKeysGenerate({ outDir }, () => undefined);
    const generated = loadSigningKey(await readFile(join(outDir, PRIVATE_KEY_FILE), 'utf8'));
    const jwks = join(outDir, 'jwks.json');
    await writeFile(jwks, JSON.stringify(jwksOf(generated)));
    const { code } = await verifyFile(jsonl(chain('s-k', 2, () => generated)), jwks);
    assert.equal(code, 0);
  });
});

describe('runReceiptsVerify with checkpoints in the file', () => {
  const a = chain('s-a', 3, () => key);
  const b = chain('s-b', 2, () => key);
  const checkpoint = buildCheckpoint(
    {
      receipts: [...a, ...b],
      producer: 'replica-1',
      sequence: 1,
      prevHash: null,
      timestamp: '2026-01-01T00:00:00.000Z',
    },
    key,
  );

  it('exits 0 when every session a checkpoint names is there up to its head', async () => {
    const { code, lines } = await verifyFile(jsonl([...a, checkpoint, ...b]));
    assert.equal(code, 0);
    assert.equal(lines.at(-1), 'verified 5 receipts in 2 sessions: OK (1 checkpoint)');
  });

  it('names a session deleted whole, which the chains alone cannot show', async () => {
    const { code, lines } = await verifyFile(jsonl([...a, checkpoint]));
    assert.equal(code, 1);
    assert.match(lines[0]!, /^dropped receipt=ckpt_\w+ session=s-b index=3: .*no receipt of it is here: deleted$/);
  });

  it('names a session whose last receipts were cut off', async () => {
    const { code, lines } = await verifyFile(jsonl([...a.slice(0, 2), ...b, checkpoint]));
    assert.equal(code, 1);
    assert.match(lines.join('\n'), /session=s-a .*end at seq 2: cut off/);
  });

  it('names a checkpoint whose signature does not verify', async () => {
    const forged = { ...checkpoint, count: 4 };
    const { code, lines } = await verifyFile(jsonl([...a, ...b, forged]));
    assert.equal(code, 1);
    assert.match(lines[0]!, /^checkpoint receipt=ckpt_/);
  });
});
