// A strict decoder for the deterministic CBOR the log's leaves use (docs/protocol.md §1,
// RFC 8949 §4.2.1): unsigned and negative integers, byte and text strings, arrays, maps,
// false/true/null. Anything else (floats, tags, undefined, simple values, indefinite
// lengths) is refused, and so is every non-deterministic form: a longer-than-shortest head
// or map keys out of bytewise order or repeated (NON_CANONICAL). So a value decoded here has
// exactly one encoding, the one the log hashed: the same rule as notary_core.cbor.loads,
// which re-encodes and compares.

import { VerifyError, compare, fromUtf8 } from "./bytes.js";

/** @typedef {bigint | Uint8Array | string | boolean | null | Array<unknown> | CborMap} CborValue items of arrays and maps are CborValue too */
/** @typedef {Map<unknown, unknown>} CborMap keys and values are CborValue */

const MAX_DEPTH = 16; // leaves nest three deep (map, link array); anything deeper is hostile

/**
 * Decode one complete CBOR data item of at most `limit` bytes.
 * @param {Uint8Array} data
 * @param {number} limit
 * @param {string} what for error messages
 * @returns {CborValue}
 */
export function decode(data, limit, what) {
  if (data.length > limit) {
    throw new VerifyError("TOO_LARGE", `${what}: ${data.length} bytes, over ${limit}`);
  }
  const r = new Reader(data, what);
  const value = r.item(0);
  if (r.at !== data.length) throw new VerifyError("MALFORMED", `${what}: bytes after the item`);
  return value;
}

class Reader {
  /** @param {Uint8Array} data @param {string} what */
  constructor(data, what) {
    this.data = data;
    this.what = what;
    this.at = 0;
  }

  /** @param {string} reason @param {string} message @returns {never} */
  fail(reason, message) {
    throw new VerifyError(reason, `${this.what}: ${message} at byte ${this.at}`);
  }

  /** @param {number} n @returns {Uint8Array} */
  take(n) {
    if (n > this.data.length - this.at) this.fail("MALFORMED", "truncated");
    const out = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** The head's argument, in its shortest form only. @param {number} info @returns {bigint} */
  argument(info) {
    if (info < 24) return BigInt(info);
    if (info > 27) this.fail(info === 31 ? "NON_CANONICAL" : "MALFORMED", "indefinite or reserved length");
    const size = 1 << (info - 24);
    let n = 0n;
    for (const b of this.take(size)) n = (n << 8n) | BigInt(b);
    const floor = [24n, 0x100n, 0x10000n, 0x100000000n][info - 24];
    if (n < floor) this.fail("NON_CANONICAL", "integer or length not in its shortest form");
    return n;
  }

  /** A length or count that fits what is left of the input. @param {number} info */
  length(info) {
    const n = this.argument(info);
    if (n > BigInt(this.data.length - this.at)) this.fail("MALFORMED", "length past the end");
    return Number(n);
  }

  /** @param {number} depth @returns {CborValue} */
  item(depth) {
    if (depth > MAX_DEPTH) this.fail("MALFORMED", "nested too deep");
    const head = this.take(1)[0];
    const major = head >> 5;
    const info = head & 31;
    switch (major) {
      case 0:
        return this.argument(info);
      case 1:
        return -1n - this.argument(info);
      case 2:
        return this.take(this.length(info)).slice();
      case 3:
        return fromUtf8(this.take(this.length(info)));
      case 4: {
        const n = this.length(info);
        /** @type {CborValue[]} */
        const out = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5:
        return this.map(this.length(info), depth);
      case 7:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        return this.fail("MALFORMED", "floats, undefined and simple values are not used");
      default:
        return this.fail("MALFORMED", "tags are not used");
    }
  }

  /** @param {number} n @param {number} depth @returns {CborMap} */
  map(n, depth) {
    /** @type {CborMap} */
    const out = new Map();
    /** @type {Uint8Array | null} */
    let previous = null;
    for (let i = 0; i < n; i++) {
      const start = this.at;
      const key = this.item(depth + 1);
      const encoded = this.data.subarray(start, this.at);
      if (previous !== null && compare(previous, encoded) >= 0) {
        this.fail("NON_CANONICAL", "map keys repeated or out of bytewise order");
      }
      previous = encoded;
      out.set(key, this.item(depth + 1));
    }
    return out;
  }
}

/** @param {unknown} v @returns {v is bigint} */
export function isUint(v) {
  return typeof v === "bigint" && v >= 0n && v < 1n << 63n;
}

/** @param {unknown} v @returns {v is Uint8Array} */
export function isBytes(v) {
  return v instanceof Uint8Array;
}
