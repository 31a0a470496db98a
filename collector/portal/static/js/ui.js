// DOM helpers: every element is built with createElement and text nodes, never from HTML
// strings, so nothing the collector sends can become markup or script (and the CSP forbids
// inline script anyway).

/**
 * @param {string} tag
 * @param {Record<string, string | boolean | ((e: Event) => void)>} [attrs] `on*` are listeners
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Replace the children of `el`. @param {Element} el @param {...(Node | string)} children */
export function fill(el, ...children) {
  el.replaceChildren(...children);
}

/** Announce a status politely (the live region), or an error assertively. @param {string} text @param {boolean} [error] */
export function say(text, error = false) {
  const region = document.getElementById(error ? "alert" : "status");
  if (region) {
    region.textContent = "";
    region.textContent = text;
  }
}

/** A labelled input. @param {string} id @param {string} label @param {Record<string, string | boolean>} attrs */
export function field(id, label, attrs) {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, ...attrs }));
}

/** @param {string} id @param {string} label @param {boolean} checked @param {Record<string, string>} [data] */
export function checkbox(id, label, checked, data = {}) {
  return h("div", { class: "check" },
    h("input", { type: "checkbox", id, checked, ...data }), h("label", { for: id }, label));
}

/** A file offered for download (a Blob URL; revoked after the click). @param {string} name @param {Blob} blob @param {string} text */
export function download(name, blob, text) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, class: "button" }, text);
  a.addEventListener("click", () => setTimeout(() => URL.revokeObjectURL(url), 60_000));
  return a;
}

/** @param {string} id @returns {HTMLInputElement} */
export function input(id) {
  const el = document.getElementById(id);
  if (!(el instanceof HTMLInputElement)) throw new Error(`no input #${id}`);
  return el;
}

/** nanoseconds <-> the value of an <input type="datetime-local"> read as UTC. @param {bigint} ns */
export function toLocalInput(ns) {
  return new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
}

/** @param {string} value @returns {bigint} */
export function fromLocalInput(value) {
  const ms = Date.parse(`${value}Z`);
  if (Number.isNaN(ms)) throw new Error(`not a date and time: ${value}`);
  return BigInt(ms) * 1_000_000n;
}

/** Run an action from a button: busy state, errors shown, never an unhandled rejection.
 * @param {HTMLElement} button @param {() => Promise<void>} action */
export async function busy(button, action) {
  button.setAttribute("aria-busy", "true");
  if (button instanceof HTMLButtonElement) button.disabled = true;
  try {
    await action();
  } catch (exc) {
    say(exc instanceof Error ? exc.message : String(exc), true);
  } finally {
    button.removeAttribute("aria-busy");
    if (button instanceof HTMLButtonElement) button.disabled = false;
  }
}
