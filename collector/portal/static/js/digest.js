// SHA-256 and Ed25519 through WebCrypto (no JavaScript cryptography of our own). WebCrypto
// exists only in a secure context: https, or http on localhost (docs/portal.md).

import { VerifyError, concat } from "./bytes.js";

/** @returns {SubtleCrypto} */
function subtle() {
  if (!globalThis.crypto?.subtle) {
    throw new VerifyError("UNAVAILABLE", "WebCrypto needs a secure context (https or localhost)");
  }
  return globalThis.crypto.subtle;
}

/** @param {Uint8Array} data @returns {Promise<Uint8Array>} */
export async function sha256(data) {
  return new Uint8Array(await subtle().digest("SHA-256", /** @type {BufferSource} */ (data)));
}

/** RFC 9162 §2.1.1 leaf hash H(0x00 || leaf). @param {Uint8Array} leaf */
export function leafHash(leaf) {
  return sha256(concat(Uint8Array.of(0), leaf));
}

/** RFC 9162 §2.1.1 node hash H(0x01 || left || right). @param {Uint8Array} l @param {Uint8Array} r */
export function nodeHash(l, r) {
  return sha256(concat(Uint8Array.of(1), l, r));
}

/**
 * Ed25519 (RFC 8032) verification of `signature` on `message` by a raw 32-byte public key.
 * @param {Uint8Array} publicKey @param {Uint8Array} signature @param {Uint8Array} message
 * @returns {Promise<boolean>}
 */
export async function ed25519Verify(publicKey, signature, message) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = await subtle().importKey(
    "raw", /** @type {BufferSource} */ (publicKey), { name: "Ed25519" }, false, ["verify"],
  );
  return subtle().verify(
    { name: "Ed25519" }, key, /** @type {BufferSource} */ (signature),
    /** @type {BufferSource} */ (message),
  );
}
