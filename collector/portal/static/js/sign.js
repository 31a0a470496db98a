// The client half of the collector's signed requests (collector/api/signatures.py): RFC 9421
// HTTP Message Signatures, label `vn`, Ed25519, over "@method" "@path" "@query" and, with a
// body, "content-digest" (RFC 9530 sha-256), with created, expires, keyid (the RFC 7638
// thumbprint of the key), a random nonce and alg="ed25519". The private key is a
// non-extractable WebCrypto key: it signs here and never leaves the browser.

import { toB64, toB64url, utf8 } from "./bytes.js";
import { sha256 } from "./digest.js";

const TTL_S = 60;

/** The key's public JWK as the grant header carries it (RFC 8037 §2).
 * @param {CryptoKey} publicKey @returns {Promise<{crv: "Ed25519", kty: "OKP", x: string}>} */
export async function publicJwk(publicKey) {
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
  return { crv: "Ed25519", kty: "OKP", x: toB64url(raw) };
}

/** RFC 7638 thumbprint: base64url(SHA-256 of the JWK's required members, sorted, compact).
 * @param {CryptoKey} publicKey @returns {Promise<string>} */
export async function thumbprint(publicKey) {
  const jwk = await publicJwk(publicKey);
  const canonical = `{"crv":"Ed25519","kty":"OKP","x":"${jwk.x}"}`;
  return toB64url(await sha256(utf8(canonical)));
}

/** @param {Uint8Array} body @returns {Promise<string>} RFC 9530 §2 */
export async function contentDigest(body) {
  return `sha-256=:${toB64(await sha256(body))}:`;
}

/** @param {CryptoKey} privateKey @param {Uint8Array} data @returns {Promise<Uint8Array>} */
export async function sign(privateKey, data) {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, /** @type {BufferSource} */ (data)));
}

/**
 * The headers that sign one request.
 * @param {{privateKey: CryptoKey, publicKey: CryptoKey}} key
 * @param {string} method
 * @param {string} path the request's path exactly as sent (percent-encoded)
 * @param {string} query without the "?"; "" when there is none
 * @param {Uint8Array} body empty for none
 * @param {number} nowS
 * @returns {Promise<Record<string, string>>}
 */
export async function signRequest(key, method, path, query, body, nowS) {
  /** @type {Record<string, string>} */
  const headers = {};
  const lines = [`"@method": ${method.toUpperCase()}`, `"@path": ${path || "/"}`, `"@query": ?${query}`];
  const components = ['"@method"', '"@path"', '"@query"'];
  if (body.length) {
    headers["Content-Digest"] = await contentDigest(body);
    lines.push(`"content-digest": ${headers["Content-Digest"]}`);
    components.push('"content-digest"');
  }
  const nonce = toB64url(crypto.getRandomValues(new Uint8Array(18)));
  const params = `(${components.join(" ")});created=${nowS};expires=${nowS + TTL_S}`
    + `;keyid="${await thumbprint(key.publicKey)}";nonce="${nonce}";alg="ed25519"`;
  lines.push(`"@signature-params": ${params}`);
  const signature = await sign(key.privateKey, utf8(lines.join("\n")));
  headers["Signature-Input"] = `vn=${params}`;
  headers["Signature"] = `vn=:${toB64(signature)}:`;
  return headers;
}

