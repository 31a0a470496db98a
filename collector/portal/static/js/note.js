// C2SP signed notes and checkpoints (docs/protocol.md §7) and witness cosignatures (§7.2),
// as notary_core.checkpoint and notary_core.witness: the log's signature (type 0x01) by a
// pinned key, and the cosignatures (type 0x04) of pinned witnesses, counted once per key.

import { VerifyError, concat, equal, fromB64, fromUtf8, toHex, utf8 } from "./bytes.js";
import { ed25519Verify, sha256 } from "./digest.js";

const DASH = "\u2014 ";
const NAME = /^[^\s+]+$/u;
const SIZE = /^(?:0|[1-9][0-9]{0,18})$/;
const MAX_NOTE = 8 * 1024;
const MAX_SIGNATURES = 16;
export const LOG_TYPE = 0x01;
export const COSIGNATURE_TYPE = 0x04;

/** @typedef {{name: string, keyId: Uint8Array, publicKey: Uint8Array, type: number}} NoteKey */
/** @typedef {{origin: string, size: bigint, root: Uint8Array, extensions: string[]}} Checkpoint */

/** @param {string} name @param {number} type @param {Uint8Array} publicKey */
export async function keyId(name, type, publicKey) {
  return (await sha256(concat(utf8(name), Uint8Array.of(0x0a, type), publicKey))).slice(0, 4);
}

/**
 * Parse a verifier key `<name>+<key ID hex>+<base64(type || key)>` and check its key ID.
 * @param {string} vkey @param {number} type @returns {Promise<NoteKey>}
 */
export async function parseVkey(vkey, type) {
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new VerifyError("BAD_KEY", "a verifier key is name+hash+key");
  // Split at the first two '+' only: the base64 key may hold more (as Python's split("+", 2)).
  const [name, idHex, b64] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (!NAME.test(name)) throw new VerifyError("BAD_KEY", `key name ${name} has spaces or '+'`);
  const raw = fromB64(b64, "verifier key");
  if (raw.length !== 33 || raw[0] !== type) {
    throw new VerifyError("UNSUPPORTED_ALGORITHM", `not an Ed25519 key of type 0x0${type}`);
  }
  const publicKey = raw.slice(1);
  const id = await keyId(name, type, publicKey);
  if (toHex(id) !== idHex) throw new VerifyError("BAD_KEY", "the key hash does not match its key");
  return { name, keyId: id, publicKey, type };
}

/**
 * Split a signed note into its text and its signature lines (signed-note §Format).
 * @param {Uint8Array} note @returns {{body: Uint8Array, lines: {name: string, blob: Uint8Array}[]}}
 */
export function splitNote(note) {
  if (note.length > MAX_NOTE) throw new VerifyError("TOO_LARGE", "signed note over 8 KiB");
  if (note.some((b) => b < 0x20 && b !== 0x0a)) throw new VerifyError("BAD_CHECKPOINT", "a signed note carries no control characters");
  let split = -1;
  for (let i = note.length - 2; i >= 0; i--) {
    if (note[i] === 0x0a && note[i + 1] === 0x0a) {
      split = i;
      break;
    }
  }
  if (split < 0) throw new VerifyError("BAD_CHECKPOINT", "signed note has no signature block");
  const body = note.slice(0, split + 1);
  const text = fromUtf8(note.subarray(split + 2));
  if (!text.endsWith("\n")) throw new VerifyError("BAD_CHECKPOINT", "signature block must end with a newline");
  const raw = text.slice(0, -1).split("\n");
  if (raw.length > MAX_SIGNATURES) throw new VerifyError("TOO_LARGE", "too many signature lines");
  const lines = raw.map((line) => {
    if (!line.startsWith(DASH)) throw new VerifyError("BAD_CHECKPOINT", "malformed signature line");
    const rest = line.slice(DASH.length);
    const space = rest.indexOf(" ");
    const name = space < 0 ? rest : rest.slice(0, space);
    if (!NAME.test(name)) throw new VerifyError("BAD_CHECKPOINT", "bad key name in a signature line");
    const blob = fromB64(space < 0 ? "" : rest.slice(space + 1), "signature");
    if (blob.length < 5) throw new VerifyError("BAD_CHECKPOINT", "signature too short");
    return { name, blob };
  });
  return { body, lines };
}

/** @param {Uint8Array} body @returns {Checkpoint} */
export function parseCheckpointBody(body) {
  const text = fromUtf8(body);
  if (!text.endsWith("\n")) throw new VerifyError("BAD_CHECKPOINT", "checkpoint body must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new VerifyError("BAD_CHECKPOINT", "checkpoint needs origin, size and root");
  const [origin, size, root, ...extensions] = lines;
  if (!origin) throw new VerifyError("BAD_CHECKPOINT", "origin must be one non-empty line");
  if (!SIZE.test(size) || BigInt(size) > (1n << 63n) - 1n) throw new VerifyError("BAD_CHECKPOINT", `bad tree size ${size}`);
  const r = fromB64(root, "root");
  if (r.length !== 32) throw new VerifyError("BAD_HASH_LENGTH", "checkpoint root must be 32 bytes");
  if (extensions.some((e) => !e)) throw new VerifyError("BAD_CHECKPOINT", "extension lines must be non-empty");
  return { origin, size: BigInt(size), root: r, extensions };
}

/**
 * Verify a signed checkpoint by one of the pinned log keys (ignoring unknown keys, failing
 * on a bad signature by a known one) and count its pinned witnesses' cosignatures.
 * @param {Uint8Array} note @param {NoteKey[]} logKeys @param {NoteKey[]} witnesses
 * @returns {Promise<{checkpoint: Checkpoint, signedBy: string[], cosigned: {name: string, time: bigint}[], badCosignatures: string[]}>}
 */
export async function openCheckpoint(note, logKeys, witnesses) {
  const { body, lines } = splitNote(note);
  /** @type {string[]} */
  const signedBy = [];
  /** @type {Map<string, {name: string, time: bigint}>} */
  const cosigned = new Map();
  /** @type {string[]} */
  const badCosignatures = [];
  for (const { name, blob } of lines) {
    const id = blob.subarray(0, 4);
    const log = logKeys.find((k) => k.name === name && equal(k.keyId, id));
    if (log) {
      if (!(await ed25519Verify(log.publicKey, blob.subarray(4), body))) {
        throw new VerifyError("BAD_SIGNATURE", `note signature by ${name} does not verify`);
      }
      signedBy.push(name);
      continue;
    }
    const w = witnesses.find((k) => k.name === name && equal(k.keyId, id));
    if (!w) continue; // signed-note: lines by unknown keys are ignored
    let time = 0n;
    for (const b of blob.subarray(4, 12)) time = (time << 8n) | BigInt(b);
    const message = concat(utf8(`cosignature/v1\ntime ${time}\n`), body);
    if (blob.length !== 76 || time > (1n << 63n) - 1n || !(await ed25519Verify(w.publicKey, blob.subarray(12), message))) {
      badCosignatures.push(name);
      continue;
    }
    cosigned.set(`${name}+${toHex(w.keyId)}`, { name, time });
  }
  if (signedBy.length === 0) throw new VerifyError("UNKNOWN_KEY", "no signature by a pinned log key");
  return { checkpoint: parseCheckpointBody(body), signedBy, cosigned: [...cosigned.values()], badCosignatures };
}
