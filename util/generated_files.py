"""Writing generated files and checking the checked-in copies, shared by the generators in util/."""
import os
import sys


def write_and_check(tool, outputs, out_root, repo_root, check):
    """Writes each {relative path: text} under out_root. With check, also compares every text with
    the copy under repo_root and names each stale one. Returns the stale relative paths."""
    for rel, text in outputs.items():
        path = os.path.join(out_root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    if not check:
        return []
    stale = []
    for rel, text in outputs.items():
        try:
            with open(os.path.join(repo_root, rel), encoding="utf-8") as f:
                if f.read() != text:
                    stale.append(rel)
        except FileNotFoundError:
            stale.append(rel)
    for rel in stale:
        print(f"{tool}: {rel} is out of date; run util/{tool}.py and commit the result", file=sys.stderr)
    return stale
