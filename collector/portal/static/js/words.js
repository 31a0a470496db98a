// What the data a request asks for means, in plain words: scope items (docs/protocol.md §11)
// and the DBC signals of the RAV4 profile. Anything unknown is shown as it is written.

/** @type {Record<string, string>} */
const SCOPE = {
  gnss: "GNSS position",
  imu: "motion sensors (acceleration, rotation)",
  can0: "all CAN bus traffic",
  "can0#0b4": "speed (CAN 0x0B4)",
  "can0#0aa": "wheel speeds (CAN 0x0AA)",
  "can0#224": "brake (CAN 0x224)",
  "can0#025": "steering angle (CAN 0x025)",
  "can0#245": "accelerator pedal (CAN 0x245)",
};

/** @type {Record<string, string>} */
const SIGNAL = {
  SPEED: "speed",
  BRAKE_PRESSURE: "brake pressure",
  BRAKE_PRESSED: "brake pedal pressed",
  WHEEL_SPEED_FL: "front-left wheel speed",
  WHEEL_SPEED_FR: "front-right wheel speed",
  WHEEL_SPEED_RL: "rear-left wheel speed",
  WHEEL_SPEED_RR: "rear-right wheel speed",
  STEER_ANGLE: "steering angle",
  GAS_PEDAL: "accelerator pedal",
};

/** The choices an insurer picks from: words, the scope items and signals they stand for. */
export const CHOICES = /** @type {const} */ ([
  { id: "speed", words: "speed", scope: ["can0#0b4"], signals: ["SPEED"] },
  { id: "brake", words: "brake pressure and pedal", scope: ["can0#224"], signals: ["BRAKE_PRESSURE", "BRAKE_PRESSED"] },
  { id: "wheels", words: "wheel speeds", scope: ["can0#0aa"], signals: ["WHEEL_SPEED_FL", "WHEEL_SPEED_FR", "WHEEL_SPEED_RL", "WHEEL_SPEED_RR"] },
  { id: "gnss", words: "GNSS position", scope: ["gnss"], signals: [] },
  { id: "imu", words: "motion sensors (acceleration, rotation)", scope: ["imu"], signals: [] },
]);

/** @param {string} item */
export function scopeWords(item) {
  return SCOPE[item] ?? item;
}

/** @param {string} name */
export function signalWords(name) {
  return SIGNAL[name] ?? name;
}

/** @param {string[]} items @param {string[]} signals */
export function describe(items, signals) {
  const parts = items.map(scopeWords);
  return signals.length ? `${parts.join(", ")}; signals: ${signals.map(signalWords).join(", ")}` : parts.join(", ");
}

/** @param {bigint} ns @returns {string} UTC, to the second */
export function when(ns) {
  return new Date(Number(ns / 1_000_000n)).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** @param {bigint} a @param {bigint} b */
export function span(a, b) {
  const s = Number((b - a) / 1_000_000_000n);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/** The short form of a key thumbprint. @param {string} t */
export function short(t) {
  return t.length > 12 ? `${t.slice(0, 10)}…` : t;
}
