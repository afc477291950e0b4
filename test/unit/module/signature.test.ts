import { describe, expect, it } from 'vitest';
import { ModuleError } from '../../../lib/errors.js';
import { MODULE_SIG_STRING, PKEY_ID_PKCS7, findModuleSignature, stripSignature } from '../../../lib/module/signature.js';

const magic = new TextEncoder().encode(MODULE_SIG_STRING);

/** body + signer + key id + signature + struct module_signature + magic, as sign-file lays it out. */
function signed(body: Uint8Array, sig: { sigLen: number; signerLen?: number; keyIdLen?: number; idType?: number; declaredSigLen?: number }): Uint8Array {
  const signerLen = sig.signerLen ?? 0;
  const keyIdLen = sig.keyIdLen ?? 0;
  const data = new Uint8Array(signerLen + keyIdLen + sig.sigLen).fill(0xab);
  const ms = new Uint8Array(12);
  ms[2] = sig.idType ?? PKEY_ID_PKCS7;
  ms[3] = signerLen;
  ms[4] = keyIdLen;
  new DataView(ms.buffer).setUint32(8, sig.declaredSigLen ?? sig.sigLen, false);
  const out = new Uint8Array(body.length + data.length + 12 + magic.length);
  out.set(body, 0);
  out.set(data, body.length);
  out.set(ms, body.length + data.length);
  out.set(magic, body.length + data.length + 12);
  return out;
}

const body = new Uint8Array(1000).fill(7);

describe('findModuleSignature', () => {
  it('the magic string is 28 bytes', () => {
    expect(magic.length).toBe(28);
  });

  it('measures a PKCS#7 trailer', () => {
    const bytes = signed(body, { sigLen: 263 });
    expect(findModuleSignature(bytes)).toEqual({ offset: 1000, length: 303, sigLen: 263, idType: 2, algo: 0, hash: 0, signerLen: 0, keyIdLen: 0 });
    const stripped = stripSignature(bytes);
    expect(stripped.length).toBe(1000);
    expect(stripped.buffer).toBe(bytes.buffer);
  });

  it('counts signer and key id lengths of old-style trailers', () => {
    const bytes = signed(body, { sigLen: 100, signerLen: 9, keyIdLen: 20, idType: 1 });
    expect(findModuleSignature(bytes)).toMatchObject({ offset: 1000, length: 100 + 9 + 20 + 40, signerLen: 9, keyIdLen: 20, idType: 1 });
  });

  it('accepts a signature that starts at byte 0', () => {
    expect(findModuleSignature(signed(new Uint8Array(0), { sigLen: 5 }))?.offset).toBe(0);
  });

  it('unsigned input: undefined, and stripSignature returns it unchanged', () => {
    expect(findModuleSignature(body)).toBeUndefined();
    expect(findModuleSignature(new Uint8Array(0))).toBeUndefined();
    expect(stripSignature(body)).toBe(body);
    // Magic somewhere else than at the very end does not count.
    const inner = new Uint8Array(100);
    inner.set(magic, 10);
    expect(findModuleSignature(inner)).toBeUndefined();
  });

  it('sig_len reaching before the start of the file is MODULE_BAD_SIGNATURE', () => {
    const bytes = signed(body, { sigLen: 10, declaredSigLen: 5000 });
    const err = (() => { try { findModuleSignature(bytes, { file: 'm.ko' }); } catch (e) { return e; } return undefined; })();
    expect(err).toBeInstanceOf(ModuleError);
    expect(err).toMatchObject({ code: 'MODULE_BAD_SIGNATURE', context: { file: 'm.ko', offset: bytes.length - 40 } });
    expect(() => stripSignature(bytes)).toThrow(ModuleError);
  });

  it('sig_len with the top bit set is treated as unsigned (and rejected)', () => {
    expect(() => findModuleSignature(signed(body, { sigLen: 1, declaredSigLen: 0x80000000 }))).toThrow(/2147483648/);
  });

  it('the magic alone, with no room for the struct, is MODULE_BAD_SIGNATURE', () => {
    expect(() => findModuleSignature(magic)).toThrow(expect.objectContaining({ code: 'MODULE_BAD_SIGNATURE' }) as Error);
  });
});
