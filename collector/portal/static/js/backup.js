// The key backup file: the Ed25519 private key as an encrypted PKCS#8 PEM (RFC 5958 §3,
// "ENCRYPTED PRIVATE KEY") with PBES2 (RFC 8018 §6.2): PBKDF2-HMAC-SHA256, 600,000
// iterations, AES-256-CBC. The format OpenSSL writes and reads, so a backup made here also
// opens with `openssl pkcs8 -in owner-key.pem` or Python's cryptography
// (load_pem_private_key with the passphrase) for the CLI, and one written by them opens here.

import { VerifyError, concat, equal, fromB64, toB64, utf8 } from "./bytes.js";

export const ITERATIONS = 600_000;
const MIN_ITERATIONS = 1_000; // a file written elsewhere (OpenSSL's default is 2,048)
const MAX_ITERATIONS = 10_000_000;

const OID = {
  pbes2: Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d),
  pbkdf2: Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c),
  hmacSha256: Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09),
  aes256cbc: Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a),
};

/** DER TLV (X.690 §8.1). @param {number} tag @param {...Uint8Array} parts */
function tlv(tag, ...parts) {
  const content = concat(...parts);
  const n = content.length;
  const len = n < 0x80 ? Uint8Array.of(n) : n < 0x100 ? Uint8Array.of(0x81, n) : Uint8Array.of(0x82, n >> 8, n & 0xff);
  return concat(Uint8Array.of(tag), len, content);
}

/** @param {number} n a positive integer below 2^31 */
function derInt(n) {
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return tlv(0x02, Uint8Array.from(bytes));
}

class Der {
  /** @param {Uint8Array} data */
  constructor(data) {
    this.data = data;
    this.at = 0;
  }

  /** @param {number} tag @returns {Uint8Array} the content of the next TLV, which must have `tag` */
  next(tag) {
    const d = this.data;
    if (this.at + 2 > d.length || d[this.at] !== tag) throw new VerifyError("MALFORMED", "not the backup file's structure");
    let len = d[this.at + 1];
    let start = this.at + 2;
    if (len & 0x80) {
      const k = len & 0x7f;
      if (k < 1 || k > 2 || start + k > d.length) throw new VerifyError("MALFORMED", "bad DER length");
      len = k === 1 ? d[start] : (d[start] << 8) | d[start + 1];
      start += k;
    }
    if (start + len > d.length) throw new VerifyError("MALFORMED", "truncated DER");
    this.at = start + len;
    return d.subarray(start, start + len);
  }

  more() {
    return this.at < this.data.length;
  }
}

/** @param {string} passphrase @param {Uint8Array} salt @param {number} iterations */
async function aesKey(passphrase, salt, iterations) {
  const base = await crypto.subtle.importKey("raw", /** @type {BufferSource} */ (utf8(passphrase)), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: /** @type {BufferSource} */ (salt), iterations },
    base, { name: "AES-CBC", length: 256 }, false, ["encrypt", "decrypt"],
  );
}

/**
 * Encrypt a PKCS#8 private key into the backup file's text.
 * @param {Uint8Array} pkcs8 @param {string} passphrase @returns {Promise<string>}
 */
export async function seal(pkcs8, passphrase) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const key = await aesKey(passphrase, salt, ITERATIONS);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, /** @type {BufferSource} */ (pkcs8)));
  const der = tlv(0x30,
    tlv(0x30, tlv(0x06, OID.pbes2),
      tlv(0x30,
        tlv(0x30, tlv(0x06, OID.pbkdf2),
          tlv(0x30, tlv(0x04, salt), derInt(ITERATIONS), tlv(0x30, tlv(0x06, OID.hmacSha256), Uint8Array.of(0x05, 0x00)))),
        tlv(0x30, tlv(0x06, OID.aes256cbc), tlv(0x04, iv)))),
    tlv(0x04, ct));
  const b64 = toB64(der).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/**
 * Decrypt a backup file; a wrong passphrase or a damaged file is BAD_KEY.
 * @param {string} text @param {string} passphrase @returns {Promise<Uint8Array>} the PKCS#8 key
 */
export async function open(text, passphrase) {
  const m = /-----BEGIN ENCRYPTED PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END ENCRYPTED PRIVATE KEY-----/.exec(text);
  if (!m) throw new VerifyError("MALFORMED", "not an encrypted private key file (ENCRYPTED PRIVATE KEY PEM)");
  const outer = new Der(fromB64(m[1].replace(/\s+/g, ""), "backup"));
  const info = new Der(outer.next(0x30));
  const alg = new Der(info.next(0x30));
  const ct = info.next(0x04);
  if (!equal(alg.next(0x06), OID.pbes2)) throw new VerifyError("UNSUPPORTED_ALGORITHM", "the backup is not PBES2");
  const params = new Der(alg.next(0x30));
  const kdf = new Der(params.next(0x30));
  const scheme = new Der(params.next(0x30));
  if (!equal(kdf.next(0x06), OID.pbkdf2)) throw new VerifyError("UNSUPPORTED_ALGORITHM", "the backup's key derivation is not PBKDF2");
  const p = new Der(kdf.next(0x30));
  const salt = p.next(0x04);
  const iterBytes = p.next(0x02);
  let iterations = 0;
  for (const b of iterBytes) iterations = iterations * 256 + b;
  let prf = null;
  while (p.more()) {
    const tag = p.data[p.at];
    if (tag === 0x02) {
      const len = p.next(0x02);
      if (len.length !== 1 || len[0] !== 32) throw new VerifyError("UNSUPPORTED_ALGORITHM", "the backup's key length is not 32");
    } else {
      prf = new Der(p.next(0x30)).next(0x06);
    }
  }
  if (prf === null || !equal(prf, OID.hmacSha256)) throw new VerifyError("UNSUPPORTED_ALGORITHM", "the backup's PBKDF2 is not HMAC-SHA256");
  if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) throw new VerifyError("UNSUPPORTED_ALGORITHM", `PBKDF2 with ${iterations} iterations`);
  if (!equal(scheme.next(0x06), OID.aes256cbc)) throw new VerifyError("UNSUPPORTED_ALGORITHM", "the backup is not AES-256-CBC");
  const iv = scheme.next(0x04);
  if (iv.length !== 16) throw new VerifyError("MALFORMED", "the backup's IV is not 16 bytes");
  const key = await aesKey(passphrase, salt, iterations);
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-CBC", iv: /** @type {BufferSource} */ (iv) }, key, /** @type {BufferSource} */ (ct));
    return new Uint8Array(plain);
  } catch {
    throw new VerifyError("BAD_KEY", "wrong passphrase, or the backup file is damaged");
  }
}
