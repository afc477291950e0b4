/**
 * The signature scripts/sign-file appends to a module (include/linux/module_signature.h):
 *
 *   [ELF][signer][key id][signature: sig_len bytes][struct module_signature][MODULE_SIG_STRING]
 *
 * struct module_signature is 12 bytes: u8 algo, hash, id_type, signer_len, key_id_len,
 * u8 __pad[3], __be32 sig_len. For PKCS#7 signatures (all modern kernels) only id_type
 * and sig_len are non-zero; the other lengths are honoured anyway so an old-style
 * trailer is measured correctly.
 */
import { ModuleError, type ErrorContext } from '../errors.js';

export const MODULE_SIG_STRING = '~Module signature appended~\n';
const MAGIC = new TextEncoder().encode(MODULE_SIG_STRING);
export const MODULE_SIG_STRING_LEN = MAGIC.length; // 28
export const MODULE_SIGNATURE_STRUCT_LEN = 12;
/** id_type of a PKCS#7 signature, the only kind the kernel accepts since 4.x. */
export const PKEY_ID_PKCS7 = 2;

export interface ModuleSignature {
  /** Byte offset where the signature data begins (= the length of the unsigned module). */
  readonly offset: number;
  /** Bytes from `offset` to the end of the input: signature data, struct and magic. */
  readonly length: number;
  readonly sigLen: number;
  readonly idType: number;
  readonly algo: number;
  readonly hash: number;
  readonly signerLen: number;
  readonly keyIdLen: number;
}

export interface SignatureOptions {
  /** Path for error context only. */
  file?: string;
}

function hasMagicAtEnd(bytes: Uint8Array): boolean {
  const start = bytes.length - MAGIC.length;
  if (start < 0) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[start + i] !== MAGIC[i]) return false;
  return true;
}

/**
 * The appended signature, or undefined when the input does not end in the magic string.
 * A trailer whose lengths point before the start of the input is MODULE_BAD_SIGNATURE.
 */
export function findModuleSignature(bytes: Uint8Array, opts: SignatureOptions = {}): ModuleSignature | undefined {
  if (!hasMagicAtEnd(bytes)) return undefined;
  const ctx: ErrorContext = opts.file !== undefined ? { file: opts.file } : {};
  const structAt = bytes.length - MAGIC.length - MODULE_SIGNATURE_STRUCT_LEN;
  if (structAt < 0) {
    throw new ModuleError('MODULE_BAD_SIGNATURE', `module signature marker present but the ${bytes.length}-byte file has no room for struct module_signature`, { ...ctx, offset: 0 });
  }
  const algo = bytes[structAt] as number;
  const hash = bytes[structAt + 1] as number;
  const idType = bytes[structAt + 2] as number;
  const signerLen = bytes[structAt + 3] as number;
  const keyIdLen = bytes[structAt + 4] as number;
  // __be32 sig_len, assembled by hand: the >>> 0 keeps values >= 2^31 positive.
  const sigLen = (((bytes[structAt + 8] as number) << 24) | ((bytes[structAt + 9] as number) << 16) | ((bytes[structAt + 10] as number) << 8) | (bytes[structAt + 11] as number)) >>> 0;
  const offset = structAt - sigLen - signerLen - keyIdLen;
  if (offset < 0) {
    throw new ModuleError('MODULE_BAD_SIGNATURE', `module signature length ${sigLen} (signer ${signerLen}, key id ${keyIdLen}) exceeds the ${structAt} bytes before struct module_signature`, { ...ctx, offset: structAt });
  }
  return { offset, length: bytes.length - offset, sigLen, idType, algo, hash, signerLen, keyIdLen };
}

/** The input without its appended signature (a view, no copy); unchanged if unsigned. */
export function stripSignature(bytes: Uint8Array, opts: SignatureOptions = {}): Uint8Array {
  const sig = findModuleSignature(bytes, opts);
  return sig === undefined ? bytes : bytes.subarray(0, sig.offset);
}
