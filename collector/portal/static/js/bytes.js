// Byte helpers: hex, base64 (standard and url-safe, canonical only), UTF-8, comparison.
// Every decoder here refuses what it cannot read exactly (VerifyError with a reason code,
// the codes of notary_core.errors.Reason).

/** A check that failed: `reason` is one of the protocol's reason codes (docs/protocol.md §9). */
export class VerifyError extends Error {
  /** @param {string} reason @param {string} message */
  constructor(reason, message) {
    super(message);
    this.name = "VerifyError";
    this.reason = reason;
  }
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** @param {string} text lower-case hex @returns {Uint8Array} */
export function fromHex(text) {
  if (!HEX.test(text)) throw new VerifyError("MALFORMED", "not lower-case hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** @param {Uint8Array} bytes @returns {string} */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {Uint8Array} bytes @returns {string} standard base64 with padding (RFC 4648 §4) */
export function toB64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Standard base64 in its one canonical form (as notary_core.checkpoint.b64_canonical).
 * @param {string} text @param {string} what @returns {Uint8Array} */
export function fromB64(text, what) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new VerifyError("BAD_CHECKPOINT", `${what} is not base64`);
  }
  const raw = atob(text);
  const out = Uint8Array.from(raw, (c) => c.charCodeAt(0));
  if (toB64(out) !== text) throw new VerifyError("NON_CANONICAL", `${what} is not canonical base64`);
  return out;
}

/** @param {Uint8Array} bytes @returns {string} base64url without padding (RFC 7515 §2) */
export function toB64url(bytes) {
  return toB64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {string} text @returns {Uint8Array} */
export function fromB64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new VerifyError("MALFORMED", "not base64url");
  }
  const std = text.replace(/-/g, "+").replace(/_/g, "/");
  const out = fromB64(std + "=".repeat((4 - (std.length % 4)) % 4), "base64url");
  if (toB64url(out) !== text) throw new VerifyError("NON_CANONICAL", "base64url not canonical");
  return out;
}

const encoder = new TextEncoder();

/** @param {string} text @returns {Uint8Array} */
export function utf8(text) {
  return encoder.encode(text);
}

/** @param {Uint8Array} bytes @returns {string} throws on invalid UTF-8 */
export function fromUtf8(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new VerifyError("MALFORMED", "text is not UTF-8");
  }
}

/** @param {...Uint8Array} parts @returns {Uint8Array} */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** @param {Uint8Array} a @param {Uint8Array} b @returns {boolean} */
export function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Bytewise order (RFC 8949 §4.2.1). @param {Uint8Array} a @param {Uint8Array} b */
export function compare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
