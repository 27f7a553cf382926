import { createRequire } from 'node:module';

/**
 * s3rver 3.7 encrypts ListObjectsV2 continuation tokens with single DES
 * (`crypto.createCipheriv('des', key, iv)` in lib/controllers/bucket.js). OpenSSL 3 (Node.js 17+)
 * moved single DES to its "legacy" provider, which Node.js does not load unless started with
 * `--openssl-legacy-provider`, so every listing of more than 1,000 keys fails with an
 * InternalError (ERR_OSSL_EVP_UNSUPPORTED while making the first page's token).
 *
 * Instead of asking users for a node flag, this wraps `createCipheriv`/`createDecipheriv` of the
 * CommonJS `crypto` module (what s3rver calls) so that exactly that call, single DES with an
 * 8-byte key, when OpenSSL refuses it, runs as triple DES with the key repeated three times
 * (`des-ede3-cbc`, K1 = K2 = K3, in the default provider). With equal keys EDE is
 * E_K(D_K(E_K(x))) = E_K(x): the bytes are identical to single DES, so tokens stay compatible.
 * Every other call goes to the original function untouched; ESM named imports of node:crypto are
 * not affected at all. Idempotent.
 */
const require = createRequire(import.meta.url);
const PATCHED = Symbol.for('fmnist.s3rver-des-compat');

type CryptoModule = typeof import('node:crypto');

const SINGLE_DES = new Set(['des', 'des-cbc']);

function isUnsupported(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'ERR_OSSL_EVP_UNSUPPORTED';
}

function tripledKey(key: unknown): Buffer | undefined {
  if (Buffer.isBuffer(key) && key.length === 8) return Buffer.concat([key, key, key]);
  return undefined;
}

export function installSingleDesCompat(crypto: CryptoModule = require('node:crypto') as CryptoModule): boolean {
  const target = crypto as CryptoModule & { [PATCHED]?: true };
  if (target[PATCHED]) return false;
  const originalCipher = crypto.createCipheriv;
  const originalDecipher = crypto.createDecipheriv;

  const wrap = <F extends (...args: never[]) => unknown>(original: F): F =>
    function (this: unknown, ...args: Parameters<F>) {
      try {
        return original.apply(this, args);
      } catch (error) {
        const [algorithm, key, ...rest] = args as unknown[];
        const tripled = typeof algorithm === 'string' && SINGLE_DES.has(algorithm.toLowerCase()) ? tripledKey(key) : undefined;
        if (!tripled || !isUnsupported(error)) throw error;
        return original.apply(this, ['des-ede3-cbc', tripled, ...rest] as Parameters<F>);
      }
    } as F;

  Object.defineProperty(target, 'createCipheriv', { value: wrap(originalCipher), writable: true, configurable: true, enumerable: true });
  Object.defineProperty(target, 'createDecipheriv', { value: wrap(originalDecipher), writable: true, configurable: true, enumerable: true });
  Object.defineProperty(target, PATCHED, { value: true });
  return true;
}
