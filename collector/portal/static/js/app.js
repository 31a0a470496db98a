// The portal's entry point: the person's identities (keys.js), the pinned trust file, and
// the view their role at the collector calls for: an owner's (owner.js) or an insurer's,
// adjuster's, court's or expert's (party.js).

import { ApiError, call } from "./api.js";
import { toB64url } from "./bytes.js";
import * as keys from "./keys.js";
import { ownerView } from "./owner.js";
import { partyView } from "./party.js";
import { parseTrust } from "./trust.js";
import { busy, download, field, fill, h, input, say } from "./ui.js";
import { short } from "./words.js";

/** @typedef {import("./keys.js").Identity} Identity */
/** @typedef {{identity: Identity, me: any, trust: import("./history.js").Trust | null, trustName: string}} Session */

const main = /** @type {HTMLElement} */ (document.getElementById("main"));

/** @param {Identity} id */
async function rawPublic(id) {
  return toB64url(new Uint8Array(await crypto.subtle.exportKey("raw", id.publicKey)));
}

async function pinnedTrust() {
  const saved = /** @type {{text: string, name: string} | undefined} */ (await keys.getSetting("trust"));
  if (!saved) return { trust: null, trustName: "" };
  return { trust: await parseTrust(saved.text), trustName: saved.name };
}

/** @param {Identity[]} ids @param {string | undefined} active */
function identityRows(ids, active) {
  return Promise.all(ids.map(async (id) => h("li", { class: "card identity" },
    h("h3", {}, id.label),
    h("p", {}, "Key id: ", h("code", { "data-testid": "thumbprint" }, id.thumbprint)),
    h("p", {}, "Public key for the operator: ", h("code", { "data-testid": "public-key" }, await rawPublic(id))),
    h("div", { class: "actions" },
      h("button", { type: "button", "aria-pressed": String(id.thumbprint === active), onclick: async () => {
        await keys.setSetting("active", id.thumbprint);
        location.hash = "#home";
        await route();
      } }, id.thumbprint === active ? `Using ${id.label}` : `Use ${id.label}`),
      h("button", { type: "button", class: "secondary", onclick: async () => {
        if (!confirm(`Forget the key "${id.label}" in this browser? Only its backup file can bring it back.`)) return;
        await keys.remove(id.thumbprint);
        await keyView();
      } }, `Forget ${id.label}`)))));
}

async function keyView() {
  const ids = await keys.list();
  const active = /** @type {string | undefined} */ (await keys.getSetting("active"));
  const { trust, trustName } = await pinnedTrust().catch(() => ({ trust: null, trustName: "" }));
  const list = h("ul", { class: "plain", "aria-label": "Your keys" }, ...(await identityRows(ids, active)));
  const created = h("div", { id: "created" });
  const create = h("form", { class: "card", "aria-labelledby": "new-key" },
    h("h3", { id: "new-key" }, "Make a new key"),
    h("p", {}, "The key is made in this browser and cannot be read out of it. You save one encrypted backup file now: it is the only way to recover the key."),
    field("new-label", "Name for this key", { required: true, autocomplete: "username", value: "" }),
    field("new-pass", "Passphrase for the backup (10 characters or more)", { type: "password", required: true, minlength: "10", autocomplete: "new-password" }),
    field("new-pass2", "The passphrase again", { type: "password", required: true, autocomplete: "new-password" }),
    h("button", { type: "submit" }, "Make the key"), created);
  create.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(/** @type {HTMLElement} */ (create.querySelector("button")), async () => {
      if (input("new-pass").value !== input("new-pass2").value) throw new Error("the two passphrases differ");
      const { identity, backupText } = await keys.create(input("new-label").value.trim() || "my key", input("new-pass").value);
      await keys.setSetting("active", identity.thumbprint);
      fill(created, h("p", { role: "status" }, `Key made: ${short(identity.thumbprint)}. Save its backup file now.`),
        download(`vnotary-key-${identity.thumbprint.slice(0, 8)}.pem`, new Blob([backupText], { type: "application/x-pem-file" }), "Save the backup file"),
        h("p", {}, "Give the operator this public key to register you: ", h("code", {}, await rawPublic(identity))));
      fill(list, ...(await identityRows(await keys.list(), identity.thumbprint)));
    });
  });
  const restore = h("form", { class: "card", "aria-labelledby": "restore-key" },
    h("h3", { id: "restore-key" }, "Recover a key from its backup file"),
    h("div", { class: "field" }, h("label", { for: "restore-file" }, "Backup file (.pem)"), h("input", { id: "restore-file", type: "file", accept: ".pem,application/x-pem-file,text/plain", required: true })),
    field("restore-pass", "Its passphrase", { type: "password", required: true, autocomplete: "current-password" }),
    field("restore-label", "Name for this key", { autocomplete: "username", value: "" }),
    h("button", { type: "submit" }, "Recover the key"));
  restore.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(/** @type {HTMLElement} */ (restore.querySelector("button")), async () => {
      const file = input("restore-file").files?.[0];
      if (!file) throw new Error("choose the backup file");
      const id = await keys.restore(input("restore-label").value.trim() || file.name.replace(/\.pem$/, ""), await file.text(), input("restore-pass").value);
      await keys.setSetting("active", id.thumbprint);
      say(`Key recovered: ${short(id.thumbprint)}`);
      await keyView();
    });
  });
  const trustForm = h("form", { class: "card", "aria-labelledby": "trust-h" },
    h("h3", { id: "trust-h" }, "Keys you trust"),
    h("p", { "data-testid": "trust-state" }, trust
      ? `Pinned from ${trustName}: ${trust.logKeys.map((k) => k.name).join(", ")}; ${trust.witnesses.length} witnesses, quorum ${trust.quorum}.`
      : "No trust file pinned: the access history cannot be verified until you load one (from your witnesses or owners' association, not from the collector)."),
    h("div", { class: "field" }, h("label", { for: "trust-file" }, "Trust file (trust.json)"), h("input", { id: "trust-file", type: "file", accept: ".json,application/json", required: true })),
    h("button", { type: "submit" }, "Pin this trust file"));
  trustForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(/** @type {HTMLElement} */ (trustForm.querySelector("button")), async () => {
      const file = input("trust-file").files?.[0];
      if (!file) throw new Error("choose the trust file");
      const text = await file.text();
      await parseTrust(text);
      await keys.setSetting("trust", { text, name: file.name });
      say(`Trust file ${file.name} pinned`);
      await keyView();
    });
  });
  fill(main, h("h2", { tabindex: "-1" }, "Your keys"), list, create, restore, trustForm);
  focusHeading();
}

function focusHeading() {
  const heading = main.querySelector("h2");
  if (heading instanceof HTMLElement) heading.focus();
}

/** @returns {Promise<Session | null>} */
async function session() {
  const active = /** @type {string | undefined} */ (await keys.getSetting("active"));
  const identity = (await keys.list()).find((i) => i.thumbprint === active);
  if (!identity) return null;
  const me = await call(identity, "GET", "/v1/me");
  return { identity, me, ...(await pinnedTrust()) };
}

async function home() {
  const s = await session().catch((exc) => {
    if (exc instanceof ApiError && exc.reason === "UNKNOWN_KEY") {
      say("The collector does not know this key yet: give the operator its public key (Your keys).", true);
      return null;
    }
    throw exc;
  });
  if (s === null) return keyView();
  const who = document.getElementById("who");
  if (who) who.textContent = `${s.me.name} (${s.me.role})`;
  if (s.me.role === "owner") return ownerView(main, s);
  return partyView(main, s);
}

async function route() {
  if (!window.isSecureContext || !globalThis.crypto?.subtle) {
    fill(main, h("h2", {}, "This page needs a secure connection"),
      h("p", {}, "Open the portal over https (or on this machine, http://localhost): the browser only does the cryptography the portal needs there."));
    return;
  }
  say("");
  try {
    if (location.hash === "#keys") await keyView();
    else await home();
  } catch (exc) {
    say(exc instanceof Error ? exc.message : String(exc), true);
  }
  document.querySelectorAll("nav a").forEach((a) => {
    const current = (location.hash || "#home") === a.getAttribute("href");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}

window.addEventListener("hashchange", () => void route());
void route();
