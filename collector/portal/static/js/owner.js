// The owner's view of one vehicle: requests waiting for an answer (approve as asked or
// narrowed, or deny), grants and sub-grants (revoke, the cascade shown first), and the
// access history checked in this browser (history.js).

import { call } from "./api.js";
import { issue, openGrant } from "./grant.js";
import { renderHistory } from "./owner_history.js";
import { busy, checkbox, field, fill, fromLocalInput, h, input, say, toLocalInput } from "./ui.js";
import { partyName } from "./names.js";
import { describe, scopeWords, signalWords, span, when } from "./words.js";

/** @typedef {import("./app.js").Session} Session */

const DAY_S = 86_400n;
/** @param {HTMLElement} main @param {Session} s */
export async function ownerView(main, s) {
  const vehicles = /** @type {any[]} */ (s.me.vehicles ?? []);
  if (!vehicles.length) {
    fill(main, h("h2", { tabindex: "-1" }, "Your vehicles"), h("p", {}, "No vehicle is bound to this key yet: the operator binds it."));
    return;
  }
  const pick = h("select", { id: "vehicle" }, ...vehicles.map((v) => h("option", { value: v.vehicle_id }, `${v.label || v.vehicle_id} (${v.vehicle_id})`)));
  const body = h("div", {});
  pick.addEventListener("change", () => void showVehicle(body, s, /** @type {HTMLSelectElement} */ (pick).value));
  fill(main, h("h2", { tabindex: "-1" }, "Your vehicle"), h("div", { class: "field" }, h("label", { for: "vehicle" }, "Vehicle"), pick), body);
  await showVehicle(body, s, vehicles[0].vehicle_id);
}

/** @param {HTMLElement} body @param {Session} s @param {string} vehicle */
async function showVehicle(body, s, vehicle) {
  const requests = h("section", { "aria-labelledby": "req-h" }, h("h3", { id: "req-h" }, "Requests waiting for you"));
  const grants = h("section", { "aria-labelledby": "grants-h" }, h("h3", { id: "grants-h" }, "Grants and sub-grants"));
  const history = h("section", { "aria-labelledby": "hist-h" }, h("h3", { id: "hist-h" }, "Access history"));
  fill(body, requests, grants, history);
  const refresh = async () => {
    await Promise.all([showRequests(requests, s, vehicle, refresh), showGrants(grants, s, vehicle, refresh)]);
    await renderHistory(history, s, vehicle);
  };
  await refresh();
}

/** @param {HTMLElement} box @param {Session} s @param {string} vehicle @param {() => Promise<void>} refresh */
async function showRequests(box, s, vehicle, refresh) {
  const all = /** @type {any[]} */ (await call(s.identity, "GET", `/v1/vehicles/${encodeURIComponent(vehicle)}/requests`));
  const pending = all.filter((r) => r.status === "pending").reverse();
  const items = await Promise.all(pending.map(async (r) => {
    const form = h("div", { class: "narrow" });
    const card = h("li", { class: "card request", "data-request": r.id },
      h("h4", {}, `${await partyName(s, r.party)} asks to ${r.actions.join(" and ")}`),
      h("dl", {},
        h("dt", {}, "Purpose"), h("dd", {}, r.purpose),
        h("dt", {}, "Data"), h("dd", {}, describe(r.scope, r.signals)),
        h("dt", {}, "Recorded between"), h("dd", {}, `${when(r.window_start_ns)} and ${when(r.window_end_ns)} (${span(r.window_start_ns, r.window_end_ns)})`)),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: (/** @type {Event} */ e) => void busy(/** @type {HTMLElement} */ (e.currentTarget), async () => {
          await approve(s, r, { start: r.window_start_ns, end: r.window_end_ns, scope: r.scope, signals: r.signals, actions: r.actions, days: 30n, depth: 0n });
          await refresh();
        }) }, "Approve as asked"),
        h("button", { type: "button", class: "secondary", "aria-expanded": "false", onclick: (/** @type {Event} */ e) => {
          const b = /** @type {HTMLElement} */ (e.currentTarget);
          const open = b.getAttribute("aria-expanded") === "true";
          b.setAttribute("aria-expanded", String(!open));
          if (open) fill(form);
          else narrowForm(form, s, r, refresh);
        } }, "Approve narrowed…"),
        h("button", { type: "button", class: "danger", onclick: (/** @type {Event} */ e) => void busy(/** @type {HTMLElement} */ (e.currentTarget), async () => {
          await call(s.identity, "POST", `/v1/requests/${encodeURIComponent(r.id)}/deny`, {}, { reason: "" });
          say(`Request ${r.id} denied`);
          await refresh();
        }) }, "Deny")),
      form);
    return card;
  }));
  fill(box, box.firstElementChild ?? "", items.length ? h("ul", { class: "plain" }, ...items) : h("p", {}, "Nothing waiting."));
}

/**
 * @param {HTMLElement} form @param {Session} s @param {any} r @param {() => Promise<void>} refresh
 */
function narrowForm(form, s, r, refresh) {
  const id = (/** @type {string} */ x) => `${x}-${r.id}`;
  const f = h("form", { "aria-label": "Narrow the grant" },
    h("fieldset", {}, h("legend", {}, "Data window (UTC)"),
      field(id("from"), "From", { type: "datetime-local", step: "1", value: toLocalInput(r.window_start_ns), min: toLocalInput(r.window_start_ns), max: toLocalInput(r.window_end_ns) }),
      field(id("to"), "To", { type: "datetime-local", step: "1", value: toLocalInput(r.window_end_ns), min: toLocalInput(r.window_start_ns), max: toLocalInput(r.window_end_ns) })),
    h("fieldset", {}, h("legend", {}, "Data"),
      ...r.scope.map((/** @type {string} */ x, /** @type {number} */ i) => checkbox(id(`scope${i}`), scopeWords(x), true, { "data-scope": x })),
      ...r.signals.map((/** @type {string} */ x, /** @type {number} */ i) => checkbox(id(`sig${i}`), `signal: ${signalWords(x)}`, true, { "data-signal": x }))),
    h("fieldset", {}, h("legend", {}, "Allowed"),
      ...r.actions.map((/** @type {string} */ a) => checkbox(id(a), a === "export" ? "download evidence" : "look at the data", true, { "data-action": a })),
      field(id("days"), "Valid for (days, 1 to 30)", { type: "number", min: "1", max: "30", value: "30", required: true }),
      checkbox(id("delegate"), "May pass a narrower grant on to someone else", false)),
    h("button", { type: "submit" }, "Sign and approve this grant"));
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(/** @type {HTMLElement} */ (f.querySelector("button[type=submit]")), async () => {
      const picked = (/** @type {string} */ attr) => [...f.querySelectorAll(`input[${attr}]`)]
        .filter((x) => /** @type {HTMLInputElement} */ (x).checked).map((x) => /** @type {string} */ (x.getAttribute(attr)));
      const days = BigInt(Math.min(30, Math.max(1, Number(input(id("days")).value) || 1)));
      await approve(s, r, {
        start: fromLocalInput(input(id("from")).value), end: fromLocalInput(input(id("to")).value) + 999_999_999n,
        scope: picked("data-scope"), signals: picked("data-signal"), actions: picked("data-action"),
        days, depth: input(id("delegate")).checked ? 1n : 0n,
      });
      await refresh();
    });
  });
  fill(form, f);
}

/**
 * Sign the grant in the browser and post it as the answer to the request. The window is
 * clamped to the request's: a grant is never wider than what was asked.
 * @param {Session} s @param {any} r
 * @param {{start: bigint, end: bigint, scope: string[], signals: string[], actions: string[], days: bigint, depth: bigint}} g
 */
async function approve(s, r, g) {
  const start = g.start < r.window_start_ns ? r.window_start_ns : g.start;
  const end = g.end > r.window_end_ns ? r.window_end_ns : g.end;
  if (!g.scope.length || !g.actions.length) throw new Error("keep at least one kind of data and one use");
  const now = BigInt(Math.floor(Date.now() / 1000));
  const jti = `g-${crypto.randomUUID()}`;
  const token = await issue({
    jti, iss: s.identity.thumbprint, sub: r.party, veh: r.vehicle_id, win: [start, end],
    scope: g.scope, sig: g.signals, act: g.actions, purpose: r.purpose,
    nbf: now - 60n, exp: now + g.days * DAY_S, iat: now, depth: g.depth,
  }, s.identity);
  const out = await call(s.identity, "POST", `/v1/requests/${encodeURIComponent(r.id)}/grant`, {}, { token });
  say(`Granted: ${out.jti}, log entry ${out.log_index}`);
}

/** @param {HTMLElement} box @param {Session} s @param {string} vehicle @param {() => Promise<void>} refresh */
async function showGrants(box, s, vehicle, refresh) {
  const rows = /** @type {any[]} */ (await call(s.identity, "GET", `/v1/vehicles/${encodeURIComponent(vehicle)}/grants`));
  const byParent = new Map();
  for (const g of rows) byParent.set(g.parent ?? null, [...(byParent.get(g.parent ?? null) ?? []), g]);
  /** @param {string} jti @returns {any[]} */
  const descendants = (jti) => (byParent.get(jti) ?? []).flatMap((/** @type {any} */ c) => [c, ...descendants(c.jti)]);
  const now = BigInt(Math.floor(Date.now() / 1000));
  /** @param {any} g @returns {Promise<HTMLElement>} */
  const item = async (g) => {
    /** @type {import("./grant.js").Claims | null} */
    let c = null;
    let problem = "";
    try {
      c = await openGrant(g.token);
      if (c.jti !== g.jti) problem = "the token is another grant than the collector says";
    } catch (exc) {
      problem = exc instanceof Error ? exc.message : String(exc);
    }
    const state = g.revoked_utc_ns !== null ? "revoked" : c && c.exp <= now ? "expired" : "active";
    const confirmBox = h("div", { class: "confirm" });
    const kids = await Promise.all((byParent.get(g.jti) ?? []).map(item));
    return h("li", { class: `card grant ${state}`, "data-grant": g.jti },
      h("h4", {}, `${await partyName(s, g.grantee)}: ${state}`),
      problem ? h("p", { class: "fail" }, `✗ This grant does not verify: ${problem}`) : h("p", { class: "pass" }, "✓ Signed by its issuer (checked here)"),
      c && h("dl", {},
        h("dt", {}, "Data"), h("dd", {}, describe(c.scope, c.sig)),
        h("dt", {}, "Recorded between"), h("dd", {}, `${when(c.win[0])} and ${when(c.win[1])}`),
        h("dt", {}, "Allowed"), h("dd", {}, `${c.act.join(", ")}; until ${when(c.exp * 1_000_000_000n)}; ${c.depth > 0n ? "may delegate" : "no delegation"}`),
        h("dt", {}, "Grant id"), h("dd", {}, h("code", {}, g.jti))),
      state === "active" && h("button", { type: "button", class: "danger", onclick: () => {
        const cascade = descendants(g.jti).filter((d) => d.revoked_utc_ns === null);
        fill(confirmBox, h("p", { role: "alert" }, cascade.length
          ? `Revoking this grant also revokes ${cascade.length} sub-grant(s): ${cascade.map((d) => d.jti).join(", ")}.`
          : "Revoking takes effect on the next request; it cannot be undone."),
        h("button", { type: "button", class: "danger", onclick: (/** @type {Event} */ e) => void busy(/** @type {HTMLElement} */ (e.currentTarget), async () => {
          const out = await call(s.identity, "POST", `/v1/grants/${encodeURIComponent(g.jti)}/revoke`);
          say(`Revoked ${out.revoked} grant(s)`);
          await refresh();
        }) }, "Confirm: revoke"),
        h("button", { type: "button", class: "secondary", onclick: () => fill(confirmBox) }, "Keep it"));
      } }, "Revoke…"),
      confirmBox,
      kids.length ? h("ul", { class: "plain sub", "aria-label": "Sub-grants" }, ...kids) : null);
  };
  const roots = await Promise.all((byParent.get(null) ?? []).slice().reverse().map(item));
  fill(box, box.firstElementChild ?? "", roots.length ? h("ul", { class: "plain" }, ...roots) : h("p", {}, "No grant yet."));
}
