// The collector's API, every call signed (sign.js) with the chosen identity's key. Answers
// are parsed with bigint integers (json.js); errors become ApiError with the collector's
// reason code and message ({"reason", "message"}, collector/api/app.py).

import { utf8 } from "./bytes.js";
import * as json from "./json.js";
import { signRequest } from "./sign.js";

export class ApiError extends Error {
  /** @param {number} status @param {string} reason @param {string} message @param {number | null} retryAfter */
  constructor(status, reason, message, retryAfter) {
    super(`${reason}: ${message}`);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
    this.retryAfter = retryAfter;
  }
}

/**
 * @param {{privateKey: CryptoKey, publicKey: CryptoKey} | null} key null for the public log
 * @param {string} method
 * @param {string} path e.g. `/v1/vehicles/${encodeURIComponent(id)}/access-log`
 * @param {Record<string, string>} [query]
 * @param {unknown} [body]
 * @returns {Promise<Response>}
 */
export async function send(key, method, path, query = {}, body = undefined) {
  const q = new URLSearchParams(query).toString();
  const data = body === undefined ? new Uint8Array() : utf8(json.stringify(body));
  /** @type {Record<string, string>} */
  const headers = data.length ? { "Content-Type": "application/json" } : {};
  if (key !== null) Object.assign(headers, await signRequest(key, method, path, q, data, Math.floor(Date.now() / 1000)));
  const res = await fetch(path + (q ? `?${q}` : ""), {
    method, headers, body: data.length ? /** @type {BodyInit} */ (/** @type {unknown} */ (data)) : undefined,
    cache: "no-store", credentials: "omit",
  });
  if (!res.ok) {
    const text = await res.text();
    let reason = `HTTP_${res.status}`;
    let message = text.slice(0, 300);
    try {
      const e = JSON.parse(text);
      reason = String(e.reason ?? reason);
      message = String(e.message ?? message);
    } catch {
      // not JSON: keep the status and the text
    }
    const retry = res.headers.get("Retry-After");
    throw new ApiError(res.status, reason, message, retry === null ? null : Number(retry));
  }
  return res;
}

/** @param {Parameters<typeof send>} args @returns {Promise<any>} */
export async function call(...args) {
  return json.parse(await (await send(...args)).text());
}
