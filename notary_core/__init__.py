"""vnotary's consensus-critical core.

Every byte this package produces or accepts is part of evidence that must still verify
years from now. A change to any encoding, hash input or signature input is a format change:
bump the version it belongs to, specify it in docs/protocol.md, and regenerate the
byte-exact vectors in tests/vectors/ (`make vectors-check` fails until you do).

Pure by rule (enforced by import-linter): no sockets, files, clocks or threads. Time and
bytes are passed in.
"""

from notary_core.errors import BadData, NotaryError, Reason, Unreachable

__all__ = ["BadData", "NotaryError", "Reason", "Unreachable"]
