"""Walking a version-2 chain back from its proven head (§12.3, `evidence_v2._chain`): each
entry in its place, before the index leaf, and an empty chain said to be empty (mutation run
of 2026-12-03, docs/testing.md). The links are given directly (`link_of`): what is under test
is the walk, not the parsing of entries, which tests/verifier/test_tamper_v2.py covers."""

from __future__ import annotations

from types import SimpleNamespace

from notary_core import evidence, evidence_v2, heads
from notary_core.logleaf import Link

ENTRIES = [b"entry-0", b"entry-1", b"entry-2"]
INDICES = [3, 5, 8]  # the log index of each entry
H = [heads.leaf_hash(e) for e in ENTRIES]


def _links(n_of: dict[int, int] | None = None) -> dict[bytes, Link]:
    """The true links, with entry i claiming position n_of[i] where given."""
    n_of = n_of or {}
    out = {}
    for i, e in enumerate(ENTRIES):
        prev = (None, None) if i == 0 else (INDICES[i - 1], H[i - 1])
        out[e] = Link(n_of.get(i, i), *prev)
    return out


def _walk(
    links: dict[bytes, Link], size: int, entries: list[bytes] = ENTRIES
) -> tuple[list[tuple[int, object]] | None, tuple[str, str, str]]:
    run = evidence._Run()
    head = heads.ChainHead(len(entries), INDICES[len(entries) - 1], H[len(entries) - 1])
    if not entries:
        head = heads.ChainHead()
    cp = SimpleNamespace(size=size)
    got = evidence_v2._chain(
        run,
        "chains.device",
        entries,
        head,
        lambda leaf: (leaf, links[leaf]),
        cp,  # type: ignore[arg-type]
    )
    (c,) = run.t.checks
    return got, (str(c.status), c.reason, c.detail)


def test_a_chain_walks_back_to_its_first_entry() -> None:
    got, check = _walk(_links(), size=10)
    assert got == list(zip(INDICES, ENTRIES, strict=True))
    assert check == ("pass", "", "3 entries, linked from the first to the proven head")


def test_an_empty_chain_is_proven_empty() -> None:
    got, check = _walk({}, size=10, entries=[])
    assert got == [] and check == ("pass", "", "no entries")


def test_an_entry_that_claims_another_position_is_out_of_place() -> None:
    got, check = _walk(_links({2: 1}), size=10)
    assert got is None
    assert check == ("fail", "ENTRY_OMITTED", "entry 2 of the chain is out of place")


def test_an_entry_at_or_after_the_index_leaf_is_out_of_place() -> None:
    """The index leaf is the log's last (size - 1): every entry lies before it."""
    assert _walk(_links(), size=10)[0] is not None  # the newest entry (8) at size - 2
    for size in (9, 8):  # the newest entry is the index leaf's place, or after it
        got, check = _walk(_links(), size=size)
        assert got is None
        assert check == ("fail", "ENTRY_OMITTED", "entry 2 of the chain is out of place")


def _index_leaf_check(covered: int, size: int) -> tuple[str, str, str]:
    from notary_core import merkle
    from notary_core.logleaf import IndexLeaf

    leaf = IndexLeaf(covered, bytes(32)).to_leaf()
    x = SimpleNamespace(leaf=leaf, leaf_proof=(), device_value=b"", device_siblings=())
    cp = SimpleNamespace(size=size, root=merkle.hash_leaf(leaf))
    run = evidence._Run()
    request = SimpleNamespace(device_id="dev", vehicle_id="veh")
    evidence_v2._index(run, SimpleNamespace(index=x, request=request), cp)  # type: ignore[arg-type]
    c = run.t.checks[0]
    return str(c.status), c.reason, c.detail


def test_the_index_leaf_of_a_log_of_one_leaf() -> None:
    """The index leaf is the log's last leaf and covers every leaf before it: in a log of one
    leaf it covers none (`_index`, mutation run of 2026-12-03)."""
    assert _index_leaf_check(0, 1) == (
        "pass",
        "",
        "index of heads over the log's first 0 leaves, at 0",
    )
    assert _index_leaf_check(1, 1) == (
        "fail", "INDEX_MISMATCH", "the index leaf covers 1, the checkpoint has 1")  # fmt: skip


def test_an_entry_that_names_itself_or_a_later_one_before_it() -> None:
    for prev in (INDICES[2], INDICES[2] + 1):  # its own index, or one after it
        links = _links()
        links[ENTRIES[2]] = Link(2, prev, H[1])
        got, check = _walk(links, size=12)
        assert got is None
        assert check == ("fail", "ENTRY_OMITTED", "entry 2 names a later entry before it")
