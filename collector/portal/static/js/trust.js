// The keys the owner pins (docs/protocol.md §13 trust file): the log's verifier keys, the
// witnesses' and their quorum. The portal checks the history against these only; a trust
// file served by the collector (/v1/trust) is the collector's word, so the person loads one
// they got elsewhere (from the witnesses, an owners' association, the demo's output).

import { VerifyError } from "./bytes.js";
import { COSIGNATURE_TYPE, LOG_TYPE, parseVkey } from "./note.js";

/** @typedef {import("./history.js").Trust} Trust */

/** @param {string} text the trust file @returns {Promise<Trust>} */
export async function parseTrust(text) {
  /** @type {any} */
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new VerifyError("MALFORMED", "the trust file is not JSON");
  }
  if (doc?.version !== 1) throw new VerifyError("UNSUPPORTED_VERSION", "trust file version must be 1");
  const logs = doc.log_vkeys ?? [];
  const wits = doc.witnesses ?? [];
  if (!Array.isArray(logs) || logs.length === 0) throw new VerifyError("MALFORMED", "log_vkeys: the trust file pins no log key");
  if (!Array.isArray(wits)) throw new VerifyError("MALFORMED", "witnesses: not a list");
  const logKeys = await Promise.all(logs.map((/** @type {unknown} */ v) => parseVkey(String(v), LOG_TYPE)));
  const witnesses = await Promise.all(wits.map((/** @type {unknown} */ v) => parseVkey(String(v), COSIGNATURE_TYPE)));
  const quorum = doc.witness_quorum ?? witnesses.length;
  if (!Number.isInteger(quorum) || quorum < (witnesses.length ? 1 : 0) || quorum > witnesses.length) {
    throw new VerifyError("MALFORMED", "witness_quorum: between 1 and the number of witnesses");
  }
  return { logKeys, witnesses, quorum };
}
