// JSON with integers beyond 2^53: the API's times are nanoseconds (~1.7e18), which a plain
// JSON.parse rounds. `parse` reads every integer as a bigint from its source text (the
// reviver's `context.source`, Chromium >= 114); `stringify` writes bigints as raw JSON
// numbers (`JSON.rawJSON`). Both exist in every browser the portal supports.

/** @param {string} text @returns {any} */
export function parse(text) {
  return JSON.parse(text, (_key, value, context) => {
    if (typeof value === "number" && context && /^-?[0-9]+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

/** @param {unknown} value @returns {string} */
export function stringify(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? JSON.rawJSON(v.toString()) : v));
}

/** The same, keys sorted at every level (as Python's json.dumps(sort_keys=True), compact).
 * @param {unknown} value @returns {string} */
export function stringifySorted(value) {
  return stringify(sortKeys(value));
}

/** @param {unknown} v @returns {unknown} */
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const o = /** @type {Record<string, unknown>} */ (v);
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeys(o[k])]));
  }
  return v;
}
