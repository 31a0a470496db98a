// An owner's access history, checked in the browser (docs/protocol.md §7.3, §14), as
// notary_core.history.verify_history, but entry by entry so the page can mark each one:
// the checkpoint is signed by a pinned log key and cosigned by a quorum of pinned
// witnesses; the index leaf is the checkpoint's last leaf and in the log; the vehicle's
// head is in the index; then every entry, walked back from the head along its links, is
// the one named, on this vehicle's chain at its place, and in the log. What is shown of an
// entry is read from its leaf, never from the collector's summary fields.

import { VerifyError, equal, fromHex, utf8 } from "./bytes.js";
import { leafHash } from "./digest.js";
import { parseAccessEvent, parseIndexLeaf, parseVehicleHead } from "./logleaf.js";
import { verifyInclusion } from "./merkle.js";
import { openCheckpoint } from "./note.js";
import * as smt from "./smt.js";

/** @typedef {import("./logleaf.js").AccessEvent} AccessEvent */
/** @typedef {import("./note.js").NoteKey} NoteKey */
/** @typedef {{logKeys: NoteKey[], witnesses: NoteKey[], quorum: number}} Trust */
/** @typedef {{id: string, ok: boolean, text: string}} Check */
/**
 * @typedef {object} EntryReport
 * @property {bigint} index the log index the collector gave
 * @property {AccessEvent | null} event parsed from the leaf (null if it does not parse)
 * @property {boolean} mine the collector's presentation flag (another owner's period: details hidden)
 * @property {boolean} ok
 * @property {string[]} problems each with its reason code
 */
/**
 * @typedef {object} HistoryReport
 * @property {boolean} complete every check and every entry verified
 * @property {Check[]} checks
 * @property {EntryReport[]} entries newest first
 * @property {bigint | null} size the checkpoint's tree size
 * @property {bigint | null} count the entries the index proves
 */

/** @param {unknown} exc */
function why(exc) {
  return exc instanceof VerifyError ? `${exc.reason}: ${exc.message}` : `ERROR: ${String(exc)}`;
}

/** @param {unknown} v @param {string} what */
function hex(v, what) {
  if (typeof v !== "string") throw new VerifyError("MALFORMED", `${what} is not hex text`);
  return fromHex(v);
}

/** @param {unknown} v @param {string} what @returns {Uint8Array[]} */
function hexList(v, what) {
  if (!Array.isArray(v) || v.length > 256) throw new VerifyError("MALFORMED", `${what} is not a list of hashes`);
  return v.map((h) => hex(h, what));
}

/**
 * Check the pages of `GET /v1/vehicles/{id}/access-log`, newest first.
 * @param {any[]} pages parsed JSON (integers as bigint)
 * @param {string} vehicleId
 * @param {Trust} trust
 * @returns {Promise<HistoryReport>}
 */
export async function verifyHistory(pages, vehicleId, trust) {
  /** @type {Check[]} */
  const checks = [];
  /** @type {HistoryReport} */
  const report = { complete: false, checks, entries: [], size: null, count: null };
  const first = pages[0] ?? {};
  const raw = pages.flatMap((p) => (Array.isArray(p?.entries) ? p.entries : []));
  report.entries = raw.map((e) => ({
    index: typeof e?.index === "bigint" ? e.index : -1n, event: null, mine: e?.mine === true,
    ok: false, problems: [],
  }));
  /** @param {string} id @param {() => Promise<string>} run @returns {Promise<boolean>} */
  const check = async (id, run) => {
    try {
      checks.push({ id, ok: true, text: await run() });
      return true;
    } catch (exc) {
      checks.push({ id, ok: false, text: why(exc) });
      return false;
    }
  };
  /** @type {import("./note.js").Checkpoint | null} */
  let cp = null;
  await check("pages", async () => {
    if (pages.length === 0) throw new VerifyError("MALFORMED", "no page");
    if (pages.some((p) => p?.checkpoint !== first.checkpoint || p?.size !== first.size)) {
      throw new VerifyError("MALFORMED", "the pages name different checkpoints");
    }
    return `${pages.length} page(s), one checkpoint`;
  });
  const signed = await check("checkpoint", async () => {
    if (typeof first.checkpoint !== "string") throw new VerifyError("MALFORMED", "no checkpoint");
    const opened = await openCheckpoint(utf8(first.checkpoint), trust.logKeys, trust.witnesses);
    cp = opened.checkpoint;
    report.size = cp.size;
    const wit = opened.cosigned.map((c) => c.name);
    checks.push(witnessCheck(trust, wit, opened.badCosignatures));
    return `checkpoint of ${cp.size} entries signed by the log key ${opened.signedBy.join(", ")}`;
  });
  if (!signed || cp === null) return report;
  const checkpoint = /** @type {import("./note.js").Checkpoint} */ (cp);
  /** @type {ReturnType<typeof parseVehicleHead> | null} */
  let head = null;
  await check("index", async () => {
    const x = first.index ?? {};
    const leaf = hex(x.leaf, "index leaf");
    const parsed = parseIndexLeaf(leaf);
    if (checkpoint.size < 1n || parsed.covered !== checkpoint.size - 1n) {
      throw new VerifyError("INDEX_MISMATCH", "the index leaf is not the checkpoint's last leaf");
    }
    try {
      await verifyInclusion(await leafHash(leaf), checkpoint.size - 1n, checkpoint.size, hexList(x.proof, "index proof"), checkpoint.root);
    } catch (exc) {
      throw new VerifyError("NOT_IN_LOG", `the index leaf is not in the log: ${why(exc)}`);
    }
    const value = hex(x.value, "head value");
    const key = new Uint8Array([0x02, ...utf8(vehicleId)]);
    await smt.verifyInclusion(parsed.root, key, value, hexList(x.siblings, "index siblings"));
    head = parseVehicleHead(value);
    report.count = head.entries.count;
    return `the index at the checkpoint proves ${head.entries.count} entries for ${vehicleId}`;
  });
  if (head === null) return report;
  const entries = /** @type {{count: bigint, lastIndex: bigint | null, lastHash: Uint8Array | null}} */ (
    /** @type {ReturnType<typeof parseVehicleHead>} */ (head).entries);
  await check("count", async () => {
    if (BigInt(raw.length) !== entries.count) {
      throw new VerifyError("ENTRY_OMITTED", `the index proves ${entries.count} entries, the list holds ${raw.length}`);
    }
    return `the list holds all ${raw.length}`;
  });
  let wantIndex = entries.lastIndex;
  let wantHash = entries.lastHash;
  for (let p = 0; p < raw.length; p++) {
    const n = entries.count - 1n - BigInt(p);
    const r = report.entries[p];
    const e = raw[p];
    try {
      const leaf = hex(e?.leaf, "leaf");
      const h = await leafHash(leaf);
      if (r.index !== wantIndex || wantHash === null || !equal(h, wantHash)) {
        r.problems.push(`ENTRY_OMITTED: not the entry the ${p === 0 ? "index" : "newer entry's link"} names`);
      }
      const event = parseAccessEvent(leaf);
      r.event = event;
      if (event.vehicleId !== vehicleId || event.vehicleLink === null || event.vehicleLink.n !== n) {
        r.problems.push(`ENTRY_OMITTED: not entry ${n} of ${vehicleId}`);
      }
      try {
        await verifyInclusion(h, r.index, checkpoint.size, hexList(e?.proof, "proof"), checkpoint.root);
      } catch (exc) {
        r.problems.push(`NOT_IN_LOG: ${why(exc)}`);
      }
      if (e?.action !== event.action) r.problems.push("MISMATCH: the collector's summary names another action than the signed leaf");
      wantIndex = event.vehicleLink?.prevIndex ?? null;
      wantHash = event.vehicleLink?.prevHash ?? null;
    } catch (exc) {
      r.problems.push(why(exc));
      wantIndex = null;
      wantHash = null;
    }
    r.ok = r.problems.length === 0;
  }
  report.complete = checks.every((c) => c.ok) && report.entries.every((r) => r.ok) && wantIndex === null;
  if (wantIndex !== null) checks.push({ id: "end", ok: false, text: `ENTRY_OMITTED: the oldest entry links to ${wantIndex}, not shown` });
  return report;
}

/** @param {Trust} trust @param {string[]} cosigned @param {string[]} bad @returns {Check} */
function witnessCheck(trust, cosigned, bad) {
  if (bad.length) return { id: "witnesses", ok: false, text: `BAD_SIGNATURE: the cosignature of ${bad.join(", ")} does not verify` };
  if (trust.witnesses.length === 0) {
    return { id: "witnesses", ok: false, text: "QUORUM_NOT_MET: no witness is pinned, so the log alone vouches for this checkpoint" };
  }
  if (cosigned.length < trust.quorum) {
    return { id: "witnesses", ok: false, text: `QUORUM_NOT_MET: ${cosigned.length} of the ${trust.quorum} pinned witnesses needed cosigned` };
  }
  return { id: "witnesses", ok: true, text: `cosigned by ${cosigned.length} pinned witnesses (quorum ${trust.quorum}): ${cosigned.join(", ")}` };
}
