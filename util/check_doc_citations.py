#!/usr/bin/env python3
"""Fails when a tracked file cites a document under docs/, or a § section of one, that does not exist.

A citation is a path "docs/<name>.md" (anywhere in a line), optionally followed by section numbers:
"docs/vtd-facts.md §6.2-6.5", "docs/iommufd-facts.md §3.2, §6.1". A section exists when the document
has a Markdown heading that starts with its number ("### 6.2 IOTLB ..." or "## 6. Translation").

    check_doc_citations.py [--root DIR]          check every file `git ls-files` lists in DIR
    check_doc_citations.py --root DIR FILE...    check these files (relative to DIR)
    check_doc_citations.py --installed-docs DIR  also require each cited document under DIR
"""
import argparse
import pathlib
import re
import subprocess
import sys

CITATION = re.compile(r"docs/([A-Za-z0-9_.-]+?\.md)((?:(?:[ \t]|§|,|-|–|and)+\d+(?:\.\d+)*)*)")
SECTION = re.compile(r"§?\s*(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#+\s+(\d+(?:\.\d+)*)\.?(?:\s|$)")


def sections_of(document: pathlib.Path) -> set:
    found = set()
    for line in document.read_text(encoding="utf-8", errors="replace").splitlines():
        match = HEADING.match(line)
        if match:
            found.add(match.group(1))
    return found


def cited_sections(tail: str) -> list:
    # "§1.2-§1.6, §1.10" -> ["1.2", "1.6", "1.10"]; a range's end may omit the "§" ("§6.2-6.5").
    if "§" not in tail:
        return []
    return [m.group(1) for m in SECTION.finditer(tail[tail.index("§"):])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="repository root (default: the current directory)")
    parser.add_argument("--installed-docs", help="directory where the cited documents must be installed")
    parser.add_argument("files", nargs="*", help="files to check instead of the tracked ones")
    args = parser.parse_args()
    root = pathlib.Path(args.root)
    if args.files:
        names = args.files
    else:
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout
        names = tracked.decode().split("\0")
    problems = []
    cited = set()
    headings = {}
    for name in names:
        path = root / name
        if not name or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary data cites nothing
        for number, line in enumerate(text.splitlines(), 1):
            for match in CITATION.finditer(line):
                document = match.group(1)
                where = f"{name}:{number}"
                doc_path = root / "docs" / document
                if not doc_path.is_file():
                    problems.append(f"{where}: cites docs/{document}, which does not exist")
                    continue
                cited.add(document)
                if document not in headings:
                    headings[document] = sections_of(doc_path)
                for section in cited_sections(match.group(2)):
                    if section not in headings[document]:
                        problems.append(f"{where}: cites docs/{document} §{section}, which has no such section")
    if args.installed_docs:
        installed = pathlib.Path(args.installed_docs)
        for document in sorted(cited):
            if not (installed / document).is_file():
                problems.append(f"docs/{document} is cited but not installed in {installed}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(cited)} cited documents, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
