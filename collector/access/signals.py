"""Decoded views of disclosed CAN records (cantools + a DBC): non-normative, for the report.

The evidence is the raw frame; a view says which DBC (name and SHA-256) turned it into
`{"unit", "source", "t": [utc_ns], "v": [float]}` per signal, so anyone can redo it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cantools

from notary_core import records as rec
from notary_core.grant import record_scope_item

MAX_POINTS = 1_000_000  # per signal: a view is for plotting, not a second copy of the data


class SignalDecoder:
    """One DBC, loaded once per app."""

    def __init__(self, path: str) -> None:
        data = Path(path).read_bytes()
        self.name = Path(path).name
        self.sha256 = hashlib.sha256(data).hexdigest()
        self._db = cantools.database.load_string(data.decode("utf-8", "replace"), "dbc",
                                                 strict=False)  # fmt: skip
        messages: list[Any] = getattr(self._db, "messages", [])
        self._by_id: dict[int, Any] = {m.frame_id: m for m in messages}

    def views(
        self,
        disclosed: Iterable[bytes],
        signals: Sequence[str],
        event: tuple[int, str] | None = None,
    ) -> dict[str, Any]:
        """Decode the disclosed CAN records; only `signals` if any are named (the grant's)."""
        wanted = set(signals)
        out: dict[str, dict[str, Any]] = {}
        for raw in disclosed:
            r = rec.decode(raw)
            body = r.body
            if not isinstance(body, rec.CanFrame):
                continue
            message = self._by_id.get(body.can_id)
            if message is None:
                continue
            try:
                values = message.decode(body.data, decode_choices=False, scaling=True)
            except (ValueError, KeyError, IndexError, cantools.database.DecodeError):
                continue  # a frame the DBC cannot read stays raw evidence, without a view
            source = record_scope_item(r.stream, body.can_id, bool(body.flags & rec.CanFlags.EXT))
            for name, value in values.items():
                if wanted and name not in wanted:
                    continue
                sig = out.setdefault(name, {"unit": message.get_signal_by_name(name).unit or "",
                                            "source": source, "t": [], "v": []})  # fmt: skip
                if len(sig["t"]) < MAX_POINTS:
                    sig["t"].append(r.utc_ns)
                    sig["v"].append(float(value))
        view: dict[str, Any] = {"dbc": {"name": self.name, "sha256": self.sha256}, "signals": out}
        if event is not None:
            view["event"] = {"utc_ns": event[0], "label": event[1]}
        return view
