// The view of an insurer, adjuster, court or expert: ask for a vehicle's data (window,
// signals in plain words, purpose), follow the requests, and when one is granted download
// the evidence bundle, with the exact `vnotary verify` command that checks it offline.

import { ApiError, call, send } from "./api.js";
import { openGrant } from "./grant.js";
import { busy, checkbox, field, fill, fromLocalInput, h, input, say } from "./ui.js";
import { CHOICES, describe, span, when } from "./words.js";

/** @typedef {import("./app.js").Session} Session */

const RETRY_FOR_MS = 120_000; // a bundle waits for its checkpoint's anchor (503 NOT_ANCHORED)

/** @param {HTMLElement} main @param {Session} s */
export async function partyView(main, s) {
  const list = h("section", { "aria-labelledby": "mine-h" }, h("h3", { id: "mine-h" }, "Your requests"));
  const now = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19);
  const form = h("form", { class: "card", "aria-labelledby": "ask-h" },
    h("h3", { id: "ask-h" }, "Ask for a vehicle's data"),
    field("ask-vehicle", "Vehicle id (VIN)", { required: true, autocomplete: "off", pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,63}" }),
    h("fieldset", {}, h("legend", {}, "Recorded between (UTC)"),
      field("ask-from", "From", { type: "datetime-local", step: "1", required: true, value: now }),
      field("ask-to", "To", { type: "datetime-local", step: "1", required: true, value: now })),
    h("fieldset", {}, h("legend", {}, "Data"), ...CHOICES.map((c) => checkbox(`ask-${c.id}`, c.words, c.id !== "imu" && c.id !== "wheels", { "data-choice": c.id }))),
    h("fieldset", {}, h("legend", {}, "To"),
      checkbox("ask-read", "look at the data", true), checkbox("ask-export", "download evidence", true)),
    field("ask-purpose", "Purpose (the owner reads this)", { required: true, maxlength: "200", autocomplete: "off" }),
    h("button", { type: "submit" }, "Send the request"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(/** @type {HTMLElement} */ (form.querySelector("button")), async () => {
      const chosen = CHOICES.filter((c) => input(`ask-${c.id}`).checked);
      const actions = ["read", "export"].filter((a) => input(`ask-${a}`).checked);
      if (!chosen.length || !actions.length) throw new Error("choose at least one kind of data and one use");
      const vehicle = input("ask-vehicle").value.trim();
      const r = await call(s.identity, "POST", `/v1/vehicles/${encodeURIComponent(vehicle)}/requests`, {}, {
        window_start_ns: fromLocalInput(input("ask-from").value), window_end_ns: fromLocalInput(input("ask-to").value),
        scope: chosen.flatMap((c) => c.scope), signals: chosen.flatMap((c) => c.signals), actions,
        purpose: input("ask-purpose").value.trim(),
      });
      say(`Request ${r.id} sent to the owner of ${vehicle}`);
      await showRequests(list, s);
    });
  });
  fill(main, h("h2", { tabindex: "-1" }, `Requests of ${s.me.name}`), form, list);
  await showRequests(list, s);
}

/** @param {HTMLElement} box @param {Session} s */
async function showRequests(box, s) {
  const rows = /** @type {any[]} */ (await call(s.identity, "GET", "/v1/me/requests"));
  const items = await Promise.all(rows.map(async (r) => {
    const out = h("div", { class: "evidence" });
    const status = r.status === "granted" ? "granted" : r.status === "denied" ? "denied" : "waiting for the owner";
    return h("li", { class: `card request ${r.status}`, "data-request": r.id },
      h("h4", {}, `${r.vehicle_id}: ${status}`),
      h("dl", {},
        h("dt", {}, "Purpose"), h("dd", {}, r.purpose),
        h("dt", {}, "Asked for"), h("dd", {}, describe(r.scope, r.signals)),
        h("dt", {}, "Recorded between"), h("dd", {}, `${when(r.window_start_ns)} and ${when(r.window_end_ns)} (${span(r.window_start_ns, r.window_end_ns)})`),
        h("dt", {}, "Request id"), h("dd", {}, h("code", {}, r.id))),
      r.status === "granted" && h("button", { type: "button", onclick: (/** @type {Event} */ e) => void busy(/** @type {HTMLElement} */ (e.currentTarget), () => evidence(out, s, r)) }, "Download the evidence bundle"),
      out);
  }));
  fill(box, box.firstElementChild ?? "", items.length ? h("ul", { class: "plain" }, ...items) : h("p", {}, "No request yet."));
}

/**
 * Fetch the bundle under the request's grant (what the grant's signed claims allow, not
 * what the request asked), waiting while the collector says its checkpoint is not anchored.
 * @param {HTMLElement} out @param {Session} s @param {any} r
 */
async function evidence(out, s, r) {
  const g = await call(s.identity, "GET", `/v1/grants/${encodeURIComponent(r.grant)}`);
  const c = await openGrant(g.token);
  if (c.sub !== s.identity.thumbprint) throw new Error("the grant names another grantee");
  const body = { vehicle_id: c.veh, window_start_ns: c.win[0], window_end_ns: c.win[1], scope: c.scope, grant: c.jti };
  const deadline = Date.now() + RETRY_FOR_MS;
  for (;;) {
    try {
      const res = await send(s.identity, "POST", "/v1/evidence", {}, body);
      const blob = await res.blob();
      const name = `bundle-${r.id}.vnb`;
      const a = h("a", { href: URL.createObjectURL(blob), download: name, class: "button" }, `Save ${name} (${blob.size.toLocaleString("en")} bytes)`);
      fill(out, h("p", { role: "status" }, `Evidence bundle ready under grant ${c.jti}: ${describe(c.scope, c.sig)}, ${when(c.win[0])} to ${when(c.win[1])}.`), a,
        h("p", {}, "Check it offline, with the trust file of the witnesses you pin:"),
        h("pre", { "data-testid": "verify-command" }, `vnotary verify ${name} --trust trust.json`),
        h("p", {}, h("a", { href: "/v1/trust", download: "trust.json" }, "The collector's trust file"),
          " is the collector's word: pin the witnesses' keys from the witnesses themselves (docs/witness.md)."));
      say(`Bundle ${name} ready`);
      return;
    } catch (exc) {
      if (!(exc instanceof ApiError) || exc.reason !== "NOT_ANCHORED" || Date.now() > deadline) throw exc;
      fill(out, h("p", { role: "status" }, "Waiting for the log's checkpoint to be anchored…"));
      await new Promise((done) => setTimeout(done, 1000 * Math.max(1, exc.retryAfter ?? 1)));
    }
  }
}
