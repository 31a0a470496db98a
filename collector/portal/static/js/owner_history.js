// The owner's access history, every page fetched and checked here (history.js) against the
// trust file the owner pinned: a banner says whether the list is proven complete, each check
// is listed, and each entry is marked verified or failing with its reasons. What an entry
// says is read from its signed leaf.

import { call } from "./api.js";
import { verifyHistory } from "./history.js";
import { partyName } from "./names.js";
import { h, fill } from "./ui.js";
import { short, span, when } from "./words.js";

/** @typedef {import("./app.js").Session} Session */
/** @typedef {import("./history.js").EntryReport} EntryReport */

const MAX_PAGES = 500;

/** @type {Record<string, string>} */
const ACTION_WORDS = {
  OWNER_BOUND: "ownership began", OWNER_ENDED: "ownership ended", GRANT: "access granted",
  REVOKE: "grant revoked", READ: "data looked at", EXPORT: "evidence downloaded",
  REQUEST: "access requested", DENY: "request denied", DEVICE_INSTALLED: "recorder installed",
  DEVICE_REMOVED: "recorder removed", REFUSED: "attempt refused",
};

/** @param {Session} s @param {string} vehicle */
async function fetchPages(s, vehicle) {
  const pages = [];
  /** @type {string | null} */
  let cursor = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    /** @type {Record<string, string>} */
    const query = cursor === null ? { limit: "200" } : { limit: "200", cursor };
    const page = await call(s.identity, "GET", `/v1/vehicles/${encodeURIComponent(vehicle)}/access-log`, query);
    pages.push(page);
    cursor = typeof page.next_cursor === "string" ? page.next_cursor : null;
    if (cursor === null) return pages;
  }
  throw new Error("the collector keeps paging past any real history");
}

/** @param {Session} s @param {EntryReport} r */
async function entryItem(s, r) {
  const e = r.event;
  const mark = r.ok ? h("span", { class: "mark pass" }, "✓ verified") : h("span", { class: "mark fail" }, "✗ FAILS");
  const head = h("p", { class: "entry-head" }, mark, " ",
    h("strong", {}, e ? ACTION_WORDS[e.action] ?? e.action : "unreadable entry"), " ",
    e ? when(e.at) : "", ` · log #${r.index}`);
  /** @type {(HTMLElement | null)[]} */
  const rows = [];
  if (e && r.mine) {
    rows.push(h("dt", {}, "By"), h("dd", {}, await partyName(s, e.actor).then((n) => (e.actor.length === 43 ? n : e.actor))));
    rows.push(h("dt", {}, "About"), h("dd", {}, e.subject.length === 43 ? await partyName(s, e.subject) : e.subject));
    if (e.detail) rows.push(h("dt", {}, "Detail"), h("dd", {}, e.detail));
    rows.push(h("dt", {}, "Data recorded"), h("dd", {}, e.windowEnd >= (1n << 63n) - 1n ? `from ${when(e.windowStart)}, open-ended` : `${when(e.windowStart)} to ${when(e.windowEnd)} (${span(e.windowStart, e.windowEnd)})`));
  } else if (e) {
    rows.push(h("dt", {}, "Period"), h("dd", {}, "an entry of another ownership period (details not shown)"));
  }
  return h("li", { class: `entry ${r.ok ? "ok" : "bad"}`, "data-index": String(r.index), "data-ok": String(r.ok) },
    head, rows.length ? h("dl", {}, ...rows.filter((x) => x !== null)) : null,
    r.problems.length ? h("ul", { class: "problems" }, ...r.problems.map((p) => h("li", {}, p))) : null);
}

/** @param {HTMLElement} box @param {Session} s @param {string} vehicle */
export async function renderHistory(box, s, vehicle) {
  const title = box.firstElementChild ?? "";
  if (s.trust === null) {
    fill(box, title, h("p", { class: "banner warn", "data-testid": "history-banner" },
      "Not verified: pin a trust file (Your keys) to check this history in your browser."));
    return;
  }
  fill(box, title, h("p", { role: "status" }, "Fetching and checking the history…"));
  const pages = await fetchPages(s, vehicle);
  const report = await verifyHistory(pages, vehicle, s.trust);
  const banner = report.complete
    ? h("p", { class: "banner pass", "data-testid": "history-banner", "data-complete": "true" },
      `✓ Complete and untampered: all ${report.count} entries of ${vehicle} up to checkpoint ${report.size}, each linked to the one before and included in the signed log. Checked in this browser.`)
    : h("p", { class: "banner fail", "data-testid": "history-banner", "data-complete": "false" },
      "✗ This history does NOT verify: some entries or proofs below fail. Do not rely on it; keep this page as a record.");
  const checks = h("ul", { class: "checks", "aria-label": "Checks" }, ...report.checks.map((c) =>
    h("li", { class: c.ok ? "pass" : "fail", "data-check": c.id }, `${c.ok ? "✓" : "✗"} ${c.text}`)));
  const items = await Promise.all(report.entries.map((r) => entryItem(s, r)));
  fill(box, title, banner,
    h("details", {}, h("summary", {}, `How this was checked (${report.checks.filter((c) => c.ok).length} of ${report.checks.length} checks pass)`), checks,
      h("p", {}, `Pinned: ${s.trustName}; your key ${short(s.identity.thumbprint)}. An entry logged after checkpoint ${report.size} appears once the witnesses cosign a newer one (seconds).`)),
    h("ol", { class: "plain history", "aria-label": "Entries, newest first" }, ...items));
}
