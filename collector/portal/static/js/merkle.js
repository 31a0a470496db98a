// RFC 9162 §2.1.3.2: verify that a leaf is in a tree of a given size and root. The same
// algorithm and bounds as notary_core.merkle.root_from_inclusion_proof.

import { VerifyError, equal } from "./bytes.js";
import { nodeHash } from "./digest.js";

export const MAX_PROOF_NODES = 64;
const MAX_TREE_SIZE = (1n << 63n) - 1n;

/**
 * The root an inclusion proof leads to.
 * @param {Uint8Array} leafHash @param {bigint} index @param {bigint} size
 * @param {Uint8Array[]} proof @returns {Promise<Uint8Array>}
 */
export async function rootFromInclusion(leafHash, index, size, proof) {
  if (size < 0n || size > MAX_TREE_SIZE) throw new VerifyError("BAD_TREE_SIZE", "tree size out of range");
  if (index < 0n || index >= size) throw new VerifyError("BAD_INDEX", `leaf index ${index} not below ${size}`);
  if (leafHash.length !== 32) throw new VerifyError("BAD_HASH_LENGTH", "leaf hash is not 32 bytes");
  if (proof.length > MAX_PROOF_NODES) throw new VerifyError("TOO_LARGE", `proof of ${proof.length} nodes`);
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (p.length !== 32) throw new VerifyError("BAD_HASH_LENGTH", "proof node is not 32 bytes");
    if (sn === 0n) throw new VerifyError("BAD_PROOF", "inclusion proof is longer than the path");
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (fn !== 0n && !(fn & 1n)) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new VerifyError("BAD_PROOF", "inclusion proof is shorter than the path");
  return r;
}

/**
 * @param {Uint8Array} leafHash @param {bigint} index @param {bigint} size
 * @param {Uint8Array[]} proof @param {Uint8Array} root
 */
export async function verifyInclusion(leafHash, index, size, proof, root) {
  if (root.length !== 32) throw new VerifyError("BAD_HASH_LENGTH", "root is not 32 bytes");
  const calculated = await rootFromInclusion(leafHash, index, size, proof);
  if (!equal(calculated, root)) throw new VerifyError("ROOT_MISMATCH", "inclusion proof leads to another root");
}
