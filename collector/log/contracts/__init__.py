"""Compiled anchor contracts: package data, read with importlib.resources.

Each `<Name>.json` here is generated from `contracts/<Name>.vy` by `contracts/compile.py`
(vyper pinned, `--check` in `make vectors-check`); never edit one by hand. A new contract
version is a new `.vy` file there and its artifact here, loaded by name with
`collector.log.anchor_evm.load_artifact(name)`.
"""
