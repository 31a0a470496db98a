// The names the operator registered for keys (GET /v1/parties/{thumbprint}): a claim by the
// operator, always shown beside the key id it names.

import { call } from "./api.js";
import { short } from "./words.js";

/** @typedef {import("./app.js").Session} Session */

/** @type {Map<string, Promise<string>>} */
const names = new Map();

/** The registered name of a key (the operator's registration: a claim, shown with the key id).
 * @param {Session} s @param {string} thumb @returns {Promise<string>} */
export function partyName(s, thumb) {
  if (!names.has(thumb)) {
    names.set(thumb, call(s.identity, "GET", `/v1/parties/${encodeURIComponent(thumb)}`)
      .then((p) => `${p.name} (${p.role}, key ${short(thumb)})`, () => `key ${short(thumb)}`));
  }
  return /** @type {Promise<string>} */ (names.get(thumb));
}

