// The log's leaves an owner's history needs (docs/protocol.md §7.1, §7.1.1, §7.3): access
// events (type 0x03, versions 1 and 2, with their links), the index leaf (0x05) and a
// vehicle's head in the index. Each parser refuses what notary_core.logleaf refuses, with
// the same reason code (tests/vectors/core/log-leaves-v2.json holds the two together).

import { VerifyError } from "./bytes.js";
import { decode, isBytes, isUint } from "./cbor.js";

/** @typedef {import("./cbor.js").CborValue} CborValue */
/** @typedef {import("./cbor.js").CborMap} CborMap */

export const MAX_LEAF_DATA = 4096;
const MAX_HEAD_VALUE = 256;

export const ACTIONS = /** @type {const} */ ([
  "", "OWNER_BOUND", "GRANT", "REVOKE", "READ", "EXPORT", "REQUEST", "DENY",
  "DEVICE_INSTALLED", "REFUSED", "OWNER_ENDED", "DEVICE_REMOVED",
]);
const RULE = new Set(["OWNER_BOUND", "GRANT", "REVOKE", "DEVICE_INSTALLED", "OWNER_ENDED", "DEVICE_REMOVED"]);
const DEVICE = new Set(["DEVICE_INSTALLED", "DEVICE_REMOVED"]);
const V2_ONLY = new Set(["REFUSED", "OWNER_ENDED", "DEVICE_REMOVED"]);

/**
 * An entry's place in one chain: position n, and the previous entry's log index and leaf
 * hash (both null for n = 0).
 * @typedef {{n: bigint, prevIndex: bigint | null, prevHash: Uint8Array | null}} Link
 */

/**
 * @typedef {object} AccessEvent
 * @property {number} version
 * @property {string} action
 * @property {string} vehicleId
 * @property {string} actor
 * @property {string} subject
 * @property {bigint} windowStart
 * @property {bigint} windowEnd
 * @property {bigint} at
 * @property {string} detail
 * @property {Link | null} vehicleLink
 * @property {Link | null} ruleLink
 * @property {Link | null} deviceLink
 */

/** @param {string} message @returns {never} */
function malformed(message) {
  throw new VerifyError("MALFORMED", message);
}

/** @param {unknown} v @returns {Link} */
export function parseLink(v) {
  if (!Array.isArray(v) || v.length !== 3 || !isUint(v[0])) malformed("a link is [n, prev index, prev hash]");
  const [n, index, hash] = /** @type {[bigint, unknown, unknown]} */ (v);
  if (n === 0n) {
    if (index !== null || hash !== null) malformed("the first entry of a chain names no previous");
    return { n, prevIndex: null, prevHash: null };
  }
  if (!isUint(index) || !isBytes(hash) || hash.length !== 32) {
    malformed("a link names the previous entry's index and hash");
  }
  return { n, prevIndex: /** @type {bigint} */ (index), prevHash: /** @type {Uint8Array} */ (hash) };
}

/** @param {Uint8Array} data @param {number} type @param {string} what @returns {CborMap} */
function versionedMap(data, type, what) {
  if (data.length === 0 || data[0] !== type) throw new VerifyError("UNKNOWN_KIND", `not a ${what} leaf`);
  const v = decode(data.subarray(1), MAX_LEAF_DATA, what);
  if (!(v instanceof Map) || (v.get(1n) !== 1n && v.get(1n) !== 2n)) {
    throw new VerifyError("UNSUPPORTED_VERSION", `${what} version`);
  }
  return v;
}

/** An access event leaf (type 0x03). @param {Uint8Array} data @returns {AccessEvent} */
export function parseAccessEvent(data) {
  const v = versionedMap(data, 0x03, "access event");
  const version = v.get(1n) === 2n ? 2 : 1;
  const keys = [...v.keys()];
  const top = version === 2 ? 12n : 9n;
  const keysOk = keys.every((k) => typeof k === "bigint" && k >= 1n && k <= top)
    && [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n].every((k) => v.has(k));
  if (!keysOk) malformed("access event keys");
  const [vehicleLink, ruleLink, deviceLink] = [10n, 11n, 12n].map((k) => (v.has(k) ? parseLink(v.get(k)) : null));
  const code = v.get(2n);
  const action = typeof code === "bigint" && code >= 1n && code < BigInt(ACTIONS.length) ? ACTIONS[Number(code)] : "";
  if (!action) malformed(`access event field: unknown action ${String(code)}`);
  const [vehicleId, actor, subject, detail] = [3n, 4n, 5n, 9n].map((k) => v.get(k));
  const [windowStart, windowEnd, at] = [6n, 7n, 8n].map((k) => v.get(k));
  if (![vehicleId, actor, subject, detail].every((t) => typeof t === "string")) {
    malformed("access event fields have the wrong types");
  }
  if (![windowStart, windowEnd, at].every((t) => typeof t === "bigint")) {
    malformed("access event times must be integers");
  }
  const event = /** @type {AccessEvent} */ ({
    version, action, vehicleId, actor, subject, detail, windowStart, windowEnd, at,
    vehicleLink, ruleLink, deviceLink,
  });
  if (version === 2) {
    if (vehicleLink === null) malformed("a version-2 access event has a vehicle link");
    if ((ruleLink !== null) !== RULE.has(action) || (deviceLink !== null) !== DEVICE.has(action)) {
      malformed(`a ${action} event carries a rule link iff it is a rule action, and a device link iff it is an installation`);
    }
  } else if (V2_ONLY.has(action)) {
    throw new VerifyError("UNKNOWN_KIND", `${action} is a version-2 action`);
  }
  return event;
}

/** The index leaf (type 0x05): covered size and index root. @param {Uint8Array} data */
export function parseIndexLeaf(data) {
  if (data.length === 0 || data[0] !== 0x05) throw new VerifyError("UNKNOWN_KIND", "not an index leaf");
  const v = decode(data.subarray(1), MAX_LEAF_DATA, "index leaf");
  if (!(v instanceof Map) || v.get(1n) !== 1n) throw new VerifyError("UNSUPPORTED_VERSION", "index leaf version");
  const covered = v.get(2n);
  const root = v.get(3n);
  if (v.size !== 3 || !isUint(covered) || !isBytes(root) || /** @type {Uint8Array} */ (root).length !== 32) {
    malformed("index leaf fields");
  }
  return { covered: /** @type {bigint} */ (covered), root: /** @type {Uint8Array} */ (root) };
}

/**
 * Any leaf, by its type byte; only the types an owner's history holds are read here.
 * @param {Uint8Array} data
 */
export function parseLeaf(data) {
  if (data.length === 0) malformed("an empty log leaf");
  if (data[0] === 0x03) return parseAccessEvent(data);
  if (data[0] === 0x05) return parseIndexLeaf(data);
  throw new VerifyError("UNKNOWN_KIND", `log leaf type 0x${data[0].toString(16).padStart(2, "0")} is not in an owner's history`);
}

/** @typedef {{count: bigint, lastIndex: bigint | null, lastHash: Uint8Array | null}} ChainHead */

/** @param {unknown[]} v @returns {ChainHead} */
function chainHead(v) {
  const [count, index, hash] = v;
  const ok = isUint(count) && ((count === 0n && index === null && hash === null)
    || (count > 0n && isUint(index) && isBytes(hash) && hash.length === 32));
  if (!ok) malformed("an index chain head is [count, last index, last hash]");
  return {
    count: /** @type {bigint} */ (count),
    lastIndex: /** @type {bigint | null} */ (index),
    lastHash: /** @type {Uint8Array | null} */ (hash),
  };
}

/** A vehicle's value in the index: its vehicle chain and rule chain heads (§7.3).
 * @param {Uint8Array} data @returns {{entries: ChainHead, rules: ChainHead}} */
export function parseVehicleHead(data) {
  const v = decode(data, MAX_HEAD_VALUE, "vehicle head");
  if (!Array.isArray(v) || v.length !== 6) malformed("a vehicle head is an array of 6");
  return { entries: chainHead(v.slice(0, 3)), rules: chainHead(v.slice(3)) };
}
