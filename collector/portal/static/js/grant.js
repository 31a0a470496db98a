// Grants (docs/protocol.md §11): the same compact JWS (RFC 7515) notary_core.grant makes,
// EdDSA over base64url(header) "." base64url(claims), the header carrying the signer's JWK.
// `issue` signs in the browser with the owner's non-extractable key; `openGrant` verifies a
// token by the key it carries and that key being its issuer, so the portal shows a grant
// from its signed claims, not from what the collector says about it.

import { VerifyError, fromB64url, fromUtf8, toB64url, utf8 } from "./bytes.js";
import { ed25519Verify, sha256 } from "./digest.js";
import * as json from "./json.js";
import { publicJwk, sign } from "./sign.js";

export const GRANT_TYP = "vnotary-grant+jwt";
const MAX_GRANT_SIZE = 8192;

/**
 * @typedef {object} Claims
 * @property {string} jti
 * @property {string} iss
 * @property {string} sub
 * @property {string} veh
 * @property {[bigint, bigint]} win
 * @property {string[]} scope
 * @property {string[]} sig
 * @property {string[]} act
 * @property {string} purpose
 * @property {bigint} nbf
 * @property {bigint} exp
 * @property {bigint} iat
 * @property {bigint} depth
 * @property {string} [parent]
 */

/** @param {Claims} c */
function validate(c) {
  const problems = [];
  if (!(c.win[0] >= 0n && c.win[0] < c.win[1])) problems.push("window");
  if (!(c.nbf < c.exp)) problems.push("validity");
  if (!(c.depth >= 0n && c.depth <= 8n)) problems.push("depth");
  if (!c.act.length || c.act.some((a) => a !== "read" && a !== "export")) problems.push("actions");
  if (!c.scope.length || c.scope.length > 256) problems.push("scope size");
  if (c.scope.some((s) => !/^[a-z0-9][a-z0-9:._-]{0,31}(#[0-9a-f]{3}|#[0-9a-f]{8})?$/.test(s))) problems.push("scope item");
  if (problems.length) throw new VerifyError("GRANT_INVALID", `invalid grant fields: ${problems.join(", ")}`);
}

/**
 * Sign a grant as a compact JWS with the issuer's key.
 * @param {Claims} claims @param {{privateKey: CryptoKey, publicKey: CryptoKey}} key
 * @returns {Promise<string>}
 */
export async function issue(claims, key) {
  validate(claims);
  const header = { alg: "EdDSA", jwk: await publicJwk(key.publicKey), typ: GRANT_TYP };
  const h = toB64url(utf8(json.stringifySorted(header)));
  const p = toB64url(utf8(json.stringifySorted(claims)));
  const signature = await sign(key.privateKey, utf8(`${h}.${p}`));
  return `${h}.${p}.${toB64url(signature)}`;
}

/**
 * Verify a grant's signature by the key it carries, and that key being its issuer.
 * @param {string} token @returns {Promise<Claims>}
 */
export async function openGrant(token) {
  if (token.length > MAX_GRANT_SIZE) throw new VerifyError("TOO_LARGE", "grant over 8 KiB");
  const parts = token.split(".");
  if (parts.length !== 3) throw new VerifyError("GRANT_INVALID", "a compact JWS has three parts");
  /** @type {any} */
  let header;
  /** @type {any} */
  let claims;
  try {
    header = json.parse(fromUtf8(fromB64url(parts[0])));
    claims = json.parse(fromUtf8(fromB64url(parts[1])));
  } catch {
    throw new VerifyError("GRANT_INVALID", "grant header or claims are not JSON");
  }
  if (header?.alg !== "EdDSA") throw new VerifyError("UNSUPPORTED_ALGORITHM", "grants are signed with EdDSA only");
  if (header?.typ !== GRANT_TYP || typeof claims !== "object" || claims === null) throw new VerifyError("GRANT_INVALID", `not a ${GRANT_TYP}`);
  const jwk = header.jwk;
  if (jwk?.kty !== "OKP" || jwk?.crv !== "Ed25519" || typeof jwk?.x !== "string") {
    throw new VerifyError("UNSUPPORTED_ALGORITHM", "grant keys must be Ed25519 OKP JWKs");
  }
  const raw = fromB64url(jwk.x);
  if (!(await ed25519Verify(raw, fromB64url(parts[2]), utf8(`${parts[0]}.${parts[1]}`)))) {
    throw new VerifyError("GRANT_INVALID", "grant signature does not verify");
  }
  const ok = ["jti", "iss", "sub", "veh", "purpose"].every((k) => typeof claims[k] === "string")
    && ["nbf", "exp", "iat", "depth"].every((k) => typeof claims[k] === "bigint")
    && Array.isArray(claims.win) && claims.win.length === 2 && claims.win.every((/** @type {unknown} */ t) => typeof t === "bigint")
    && ["scope", "sig", "act"].every((k) => Array.isArray(claims[k]) && claims[k].every((/** @type {unknown} */ s) => typeof s === "string"))
    && (claims.parent === undefined || claims.parent === null || typeof claims.parent === "string");
  if (!ok) throw new VerifyError("GRANT_INVALID", "grant claim missing or wrong");
  validate(claims);
  const thumb = toB64url(await sha256(utf8(`{"crv":"Ed25519","kty":"OKP","x":"${jwk.x}"}`)));
  if (thumb !== claims.iss) throw new VerifyError("GRANT_INVALID", "grant is not signed by its issuer");
  return /** @type {Claims} */ (claims);
}
