import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalize, hashOf, sha256Hex } from '../../../services/decision/src/receipts/canonical.js';

/** The double whose IEEE 754 bits are `hex` (RFC 8785 Appendix B lists numbers this way). */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalize (RFC 8785)', () => {
  it('serializes the §3.2.2 example: literals, numbers and string escapes', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    );
    assert.equal(
      canonicalize(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (§3.2.3 example), not by code points', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    assert.equal(
      canonicalize(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('serializes the Appendix B numbers', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, expected] of vectors) assert.equal(canonicalize(fromBits(bits)), expected, bits);
  });

  it('rejects the Appendix B non-finite numbers', () => {
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
      assert.throws(() => canonicalize([fromBits(bits)]), TypeError, bits);
    }
  });

  it('sorts nested object keys and keeps array order', () => {
    assert.equal(
      canonicalize({ b: [3, 1, { z: 1, a: 2 }], a: { y: null, x: true } }),
      '{"a":{"x":true,"y":null},"b":[3,1,{"a":2,"z":1}]}',
    );
  });

  it('omits undefined properties and writes undefined array elements as null, like JSON.stringify', () => {
    const value = { a: undefined, b: [undefined, 1], c: 'x' };
    assert.equal(canonicalize(value), '{"b":[null,1],"c":"x"}');
    assert.equal(canonicalize(value), JSON.stringify({ b: [null, 1], c: 'x' }));
  });

  it('escapes strings exactly as JSON.stringify, including lone surrogates', () => {
    for (const s of ['', 'a"b\\c', '\u0000\u001f\u007f', '\u2028\u2029', '\ud800', 'x\udc00y', '😀']) {
      assert.equal(canonicalize(s), JSON.stringify(s));
    }
    assert.equal(canonicalize('\ud800'), '"\\ud800"');
  });

  it('uses toJSON as JSON.stringify does', () => {
    assert.equal(canonicalize({ at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) }), '{"at":"2024-01-02T03:04:05.006Z"}');
  });

  it('accepts a shared (non-cyclic) reference twice', () => {
    const shared = { k: 1 };
    assert.equal(canonicalize([shared, { shared }]), '[{"k":1},{"shared":{"k":1}}]');
  });

  it('throws a TypeError on values that are not JSON', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    const cyclicArray: unknown[] = [];
    cyclicArray.push(cyclicArray);
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      { n: Number.NEGATIVE_INFINITY },
      10n,
      { big: 1n },
      () => 1,
      { f: () => 1 },
      Symbol('s'),
      [Symbol('s')],
      undefined,
      cyclic,
      cyclicArray,
    ]) {
      assert.throws(() => canonicalize(bad), TypeError);
    }
  });
});

describe('sha256Hex and hashOf', () => {
  it('hashes strings as UTF-8 and bytes as they are', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex(new TextEncoder().encode('€')), sha256Hex('€'));
    assert.equal(
      sha256Hex('€'),
      createHash('sha256')
        .update(Buffer.from([0xe2, 0x82, 0xac]))
        .digest('hex'),
    );
  });

  it('prefixes the hash of the canonical bytes, so key order does not matter', () => {
    assert.equal(hashOf({ b: 1, a: '€' }), `sha256:${sha256Hex('{"a":"€","b":1}')}`);
    assert.equal(hashOf({ a: '€', b: 1 }), hashOf({ b: 1, a: '€' }));
    assert.notEqual(hashOf({ a: 1 }), hashOf({ a: '1' }));
  });
});
