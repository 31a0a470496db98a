// The index of heads (docs/protocol.md §7.3): the sparse Merkle tree's inclusion and
// absence proofs, as notary_core.smt. Key hash k = H(key bytes), value hash v = H(value);
// leaf H(0x00 || k || v), node H(0x01 || left || right), siblings from the top down.

import { VerifyError, concat, equal } from "./bytes.js";
import { sha256 } from "./digest.js";

const KEY_BITS = 256;

/** Bit d of k, bit 0 being the most significant bit of k[0]. @param {Uint8Array} k @param {number} d */
function bit(k, d) {
  return (k[d >> 3] >> (7 - (d & 7))) & 1;
}

/** @param {Uint8Array} k @param {Uint8Array} v */
function leaf(k, v) {
  return sha256(concat(Uint8Array.of(0), k, v));
}

/** @param {Uint8Array} k @param {Uint8Array} start @param {Uint8Array[]} siblings */
async function fold(k, start, siblings) {
  if (siblings.length > KEY_BITS) throw new VerifyError("BAD_PROOF", "more siblings than key bits");
  let h = start;
  for (let j = siblings.length; j >= 1; j--) {
    const s = siblings[j - 1];
    if (s.length !== 32) throw new VerifyError("BAD_HASH_LENGTH", "index siblings are 32 bytes");
    h = await sha256(bit(k, j - 1) ? concat(Uint8Array.of(1), s, h) : concat(Uint8Array.of(1), h, s));
  }
  return h;
}

/**
 * The value is in the index of `root` under `key` (§7.3 inclusion proof).
 * @param {Uint8Array} root @param {Uint8Array} key @param {Uint8Array} value @param {Uint8Array[]} siblings
 */
export async function verifyInclusion(root, key, value, siblings) {
  const k = await sha256(key);
  const got = await fold(k, await leaf(k, await sha256(value)), siblings);
  if (!equal(got, root)) throw new VerifyError("BAD_PROOF", "the index proof does not lead to the index root");
}

/**
 * No entry has `key` in the index of `root` (§7.3 absence proof): `other` is the terminal
 * leaf [key hash, value hash] at the path's end, or null for an empty subtree.
 * @param {Uint8Array} root @param {Uint8Array} key
 * @param {[Uint8Array, Uint8Array] | null} other @param {Uint8Array[]} siblings
 */
export async function verifyAbsence(root, key, other, siblings) {
  const k = await sha256(key);
  /** @type {Uint8Array} */
  let start = new Uint8Array(32);
  if (other !== null) {
    const [k2, v2] = other;
    if (k2.length !== 32 || v2.length !== 32) throw new VerifyError("BAD_HASH_LENGTH", "index keys and values are 32-byte hashes");
    const m = Math.min(siblings.length, KEY_BITS);
    for (let d = 0; d < m; d++) {
      if (bit(k, d) !== bit(k2, d)) throw new VerifyError("BAD_PROOF", "the other leaf does not share the key's path");
    }
    if (equal(k, k2)) throw new VerifyError("BAD_PROOF", "the other leaf is the key itself");
    start = await leaf(k2, v2);
  }
  if (!equal(await fold(k, start, siblings), root)) {
    throw new VerifyError("BAD_PROOF", "the absence proof does not lead to the index root");
  }
}
