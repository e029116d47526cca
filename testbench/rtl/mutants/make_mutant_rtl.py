#!/usr/bin/env python3
"""Writes the mutant build of the RTL IOTLB: a copy of each rtl/*.sv file named in mutants.json in
which every mutant's expression is replaced by `((mutant_sel == id) ? (mutated) : (original))`,
and each edited module reads mutant_sel from the plusarg +iotlb_mutant=<id> (0, the default, is
the unmodified design). One verilation of this copy serves every mutant.

A mutant whose anchor line or original text is not found exactly once is an error: the RTL moved
under it and the mutant must be updated, rather than silently testing nothing."""
import argparse
import json
import pathlib
import re
import sys

SELECT = (
    "\n  // Mutant build (testbench/rtl/mutants): the seeded bug selected by +iotlb_mutant=<id>, 0 for none.\n"
    "  int unsigned mutant_sel;\n"
    "  initial begin\n"
    "    if (!$value$plusargs(\"iotlb_mutant=%d\", mutant_sel)) mutant_sel = 0;\n"
    "  end\n"
)


def load(spec_path):
    spec = json.loads(pathlib.Path(spec_path).read_text())
    ids = [m["id"] for m in spec["mutants"]]
    if len(set(ids)) != len(ids) or 0 in ids:
        sys.exit(f"{spec_path}: mutant ids must be unique and non-zero")
    return spec["mutants"]


def mutate(text, mutants, path):
    lines = text.split("\n")
    for m in mutants:
        hits = [i for i, line in enumerate(lines) if m["anchor"] in line]
        if len(hits) != 1:
            sys.exit(f"{path}: mutant {m['id']} ({m['name']}): anchor found {len(hits)} times, expected once")
        line = lines[hits[0]]
        if line.count(m["original"]) != 1:
            sys.exit(f"{path}: mutant {m['id']} ({m['name']}): original text not found once in its anchor line")
        choice = f"((mutant_sel == {m['id']}) ? ({m['mutated']}) : ({m['original']}))"
        lines[hits[0]] = line.replace(m["original"], choice)
    text = "\n".join(lines)
    # mutant_sel is declared right after the module's port list (before any use).
    header_end = re.search(r"^\);\n", text, re.M)
    if header_end is None:
        sys.exit(f"{path}: no end of the port list ('^);') found")
    return text[: header_end.end()] + SELECT + text[header_end.end():]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spec", required=True, help="mutants.json")
    ap.add_argument("--rtl-dir", required=True, help="directory of the original .sv files")
    ap.add_argument("--out", help="directory for the mutant .sv files")
    ap.add_argument("--list", action="store_true", help="print 'id name caught_by' per mutant and exit")
    args = ap.parse_args()
    mutants = load(args.spec)
    if args.list:
        for m in mutants:
            print(m["id"], m["name"], m["caught_by"])
        return
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in sorted({m["file"] for m in mutants}):
        src = pathlib.Path(args.rtl_dir) / name
        mutated = mutate(src.read_text(), [m for m in mutants if m["file"] == name], src)
        target = out / name
        # An unchanged file keeps its time stamp, so re-running does not re-verilate.
        if target.exists() and target.read_text() == mutated:
            continue
        tmp = target.with_suffix(".sv.tmp")
        tmp.write_text(mutated)
        tmp.replace(target)


if __name__ == "__main__":
    main()
