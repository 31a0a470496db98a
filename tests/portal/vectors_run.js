// Run in the page by test_vectors_browser.py: the portal's modules against the vectors.
(async ([leaves, index]) => {
  const L = await import("/portal/js/logleaf.js");
  const S = await import("/portal/js/smt.js");
  const C = await import("/portal/js/cbor.js");
  const B = await import("/portal/js/bytes.js");
  const D = await import("/portal/js/digest.js");
  const hex = (b) => b === null ? null : B.toHex(b);
  const link = (l) => l === null ? null : [Number(l.n), l.prevIndex === null ? null : Number(l.prevIndex), hex(l.prevHash)];
  const reason = async (f) => { try { await f(); return "OK"; } catch (e) { return e.reason ?? String(e); } };
  const out = {parsed: [], invalid: [], inclusion: [], absence: [], cbor: {}};
  for (const v of leaves.log) {
    const data = B.fromHex(v.leaf);
    const row = {id: v.id, hash: hex(await D.leafHash(data))};
    if (data[0] === 3) {
      const e = L.parseAccessEvent(data);
      Object.assign(row, {type: "access", action: e.action, vehicle_id: e.vehicleId, subject: e.subject,
        vehicle_link: link(e.vehicleLink), rule_link: link(e.ruleLink), device_link: link(e.deviceLink)});
    } else if (data[0] === 5) {
      const x = L.parseIndexLeaf(data);
      Object.assign(row, {type: "index", covered: Number(x.covered), root: hex(x.root)});
    } else {
      row.type = "other"; row.reason = await reason(() => L.parseLeaf(data));
    }
    out.parsed.push(row);
  }
  for (const v of leaves.invalid_leaves) out.invalid.push({id: v.id, reason: await reason(() => L.parseLeaf(B.fromHex(v.leaf)))});
  for (const [vid, value] of Object.entries(leaves.heads.vehicles)) {
    const h = L.parseVehicleHead(B.fromHex(value));
    out.parsed.push({id: "head:" + vid, count: Number(h.entries.count), last: Number(h.entries.lastIndex)});
  }
  const root = B.fromHex(index.root);
  for (const v of index.inclusion) out.inclusion.push({id: v.key, want: "OK", got: await reason(() => S.verifyInclusion(root, B.fromHex(v.key), B.fromHex(v.value), v.siblings.map(B.fromHex)))});
  for (const v of index.invalid_inclusion) out.inclusion.push({id: v.id, want: v.reason, got: await reason(() => S.verifyInclusion(B.fromHex(v.root), B.fromHex(v.key), B.fromHex(v.value), v.siblings.map(B.fromHex)))});
  const term = (t) => t === null ? null : [B.fromHex(t[0]), B.fromHex(t[1])];
  for (const v of index.absence) out.absence.push({id: v.id, want: "OK", got: await reason(() => S.verifyAbsence(root, B.fromHex(v.key), term(v.terminal), v.siblings.map(B.fromHex)))});
  for (const v of index.invalid_absence) out.absence.push({id: v.id, want: v.reason, got: await reason(() => S.verifyAbsence(B.fromHex(v.root ?? index.root), B.fromHex(v.key), term(v.terminal), v.siblings.map(B.fromHex)))});
  const cases = {"uint-1-in-2-bytes": "1801", "uint-255-in-3-bytes": "1900ff", "indefinite-array": "9f01ff",
    "map-keys-out-of-order": "a202010101", "map-key-repeated": "a201010102", "float": "f93c00", "tag": "c101",
    "undefined": "f7", "truncated-bytes": "4401", "trailing-byte": "0101", "bad-utf8": "61ff",
    "deep": "81".repeat(40) + "01", "ok-map": "a201020363616263"};
  for (const [name, h] of Object.entries(cases)) out.cbor[name] = await reason(() => C.decode(B.fromHex(h), 4096, name));
  return out;
})
