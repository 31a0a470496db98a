// The browser's identities: Ed25519 key pairs whose private half is a NON-extractable
// WebCrypto key kept in IndexedDB (structured clone keeps the CryptoKey; no script, ours
// included, can read its bytes). The only copy of the private key's bytes outside WebCrypto
// is the encrypted backup file (backup.js), made once at creation and offered for download:
// the key is generated extractable, sealed into the backup, re-imported non-extractable, and
// the extractable copy dropped. Recovery imports a backup file with its passphrase.

import { VerifyError, fromB64url } from "./bytes.js";
import * as backup from "./backup.js";
import { thumbprint } from "./sign.js";

const DB = "vnotary-portal";
const VERSION = 1;

/**
 * @typedef {object} Identity
 * @property {string} thumbprint RFC 7638, the key's id at the collector
 * @property {string} label what the person called it ("my car", "Example Mutual claims")
 * @property {CryptoKey} privateKey non-extractable, usage sign
 * @property {CryptoKey} publicKey
 * @property {number} created ms since the epoch
 */

/** @returns {Promise<IDBDatabase>} */
function db() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      req.result.createObjectStore("identities", { keyPath: "thumbprint" });
      req.result.createObjectStore("settings");
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * @template T
 * @param {string} store @param {IDBTransactionMode} mode
 * @param {(s: IDBObjectStore) => IDBRequest} op @returns {Promise<T>}
 */
async function run(store, mode, op) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(store, mode);
    const req = op(tx.objectStore(store));
    tx.oncomplete = () => {
      d.close();
      resolve(req.result);
    };
    tx.onerror = () => reject(tx.error);
  });
}

/** @returns {Promise<Identity[]>} */
export function list() {
  return run("identities", "readonly", (s) => s.getAll());
}

/** @param {Identity} id */
function put(id) {
  return run("identities", "readwrite", (s) => s.put(id));
}

/** @param {string} thumb */
export function remove(thumb) {
  return run("identities", "readwrite", (s) => s.delete(thumb));
}

/** @param {string} name @returns {Promise<unknown>} */
export function getSetting(name) {
  return run("settings", "readonly", (s) => s.get(name));
}

/** @param {string} name @param {unknown} value */
export function setSetting(name, value) {
  return run("settings", "readwrite", (s) => s.put(value, name));
}

/** @param {Uint8Array} pkcs8 @param {CryptoKey} publicKey @param {string} label @returns {Promise<Identity>} */
async function keep(pkcs8, publicKey, label) {
  const privateKey = await crypto.subtle.importKey("pkcs8", /** @type {BufferSource} */ (pkcs8), { name: "Ed25519" }, false, ["sign"]);
  pkcs8.fill(0);
  const id = { thumbprint: await thumbprint(publicKey), label, privateKey, publicKey, created: Date.now() };
  await put(id);
  await navigator.storage?.persist?.();
  return id;
}

/**
 * A new identity, and the text of its encrypted backup file (to be saved by the person).
 * @param {string} label @param {string} passphrase
 * @returns {Promise<{identity: Identity, backupText: string}>}
 */
export async function create(label, passphrase) {
  if (passphrase.length < 10) throw new VerifyError("BAD_KEY", "the passphrase needs at least 10 characters");
  const pair = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const backupText = await backup.seal(pkcs8, passphrase);
  const identity = await keep(pkcs8, pair.publicKey, label);
  return { identity, backupText };
}

/**
 * Recover an identity from its backup file: the private key is imported non-extractable;
 * its public half is read once from a transient extractable import (WebCrypto derives it).
 * @param {string} label @param {string} text @param {string} passphrase @returns {Promise<Identity>}
 */
export async function restore(label, text, passphrase) {
  const pkcs8 = await backup.open(text, passphrase);
  /** @type {JsonWebKey} */
  let jwk;
  try {
    const transient = await crypto.subtle.importKey("pkcs8", /** @type {BufferSource} */ (pkcs8), { name: "Ed25519" }, true, ["sign"]);
    jwk = await crypto.subtle.exportKey("jwk", transient);
  } catch {
    pkcs8.fill(0);
    throw new VerifyError("BAD_KEY", "wrong passphrase, or the backup file is not an Ed25519 key");
  }
  const publicKey = await crypto.subtle.importKey("raw", /** @type {BufferSource} */ (fromB64url(jwk.x ?? "")), { name: "Ed25519" }, true, ["verify"]);
  return keep(pkcs8, publicKey, label);
}
