#!/usr/bin/env python3
"""Runs a kselftest harness program under the interposer and compares its results with the list
of tests expected to fail.

usage: run_kselftest.py --preload LIB --expected FILE [--timeout S] [--summary FILE] PROGRAM [HARNESS ARGS...]

Prints the program's TAP output, its "# Totals:" line, then every difference from the expected
failures: a failing test that is not listed, a listed test that passed or was skipped, a harness
that stopped before reporting every planned test (a crash or the timeout). Exit status 0 when
there is none, 1 otherwise. With --summary, also writes one line (the program, its harness
arguments, the totals and the verdict) to FILE, which scripts/test.sh prints after ctest's own
totals, since ctest shows no output of a test that passes.

The expected-failures file has one test per line, "FIXTURE[.VARIANT].TEST  reason"; the name may
be an fnmatch pattern (it then stands for every test it matches); '#' starts a comment line.
"""
import argparse
import fnmatch
import os
import re
import signal
import subprocess
import sys

RESULT = re.compile(r"^(not )?ok \d+ (\S+)(.*)$")
PLAN = re.compile(r"^1\.\.(\d+)$")


def read_expected(path):
    expected = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                sys.exit(f"{path}:{number}: '{parts[0]}' has no reason")
            expected.append((parts[0], parts[1]))
    return expected


def run(program, args, preload, timeout):
    env = dict(os.environ)
    env["LD_PRELOAD"] = preload + (":" + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    proc = subprocess.Popen([program] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, text=True, errors="replace")
    try:
        out, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        timed_out = True
    return out, proc.returncode, timed_out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preload", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--summary")
    parser.add_argument("program")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    expected = read_expected(opts.expected)

    out, status, timed_out = run(opts.program, opts.args, opts.preload, opts.timeout)
    sys.stdout.write(out)
    results = {}
    planned = None
    totals = None
    for line in out.splitlines():
        m = RESULT.match(line)
        if m:
            outcome = "skip" if "# SKIP" in m.group(3) else ("fail" if m.group(1) else "pass")
            results[m.group(2)] = outcome
        elif PLAN.match(line):
            planned = int(PLAN.match(line).group(1))
        elif line.startswith("# Totals:"):
            totals = line

    problems = []
    if timed_out:
        problems.append(f"the program was killed after {opts.timeout:g} s")
    if totals is None:
        problems.append(f"the harness printed no totals (exit status {status})")
    if planned is not None and len(results) < planned:
        problems.append(f"{planned - len(results)} of {planned} planned tests reported nothing")
    listed = 0
    for name, outcome in sorted(results.items()):
        reasons = [reason for pattern, reason in expected if fnmatch.fnmatchcase(name, pattern)]
        if reasons:
            listed += 1
            if outcome != "fail":
                problems.append(f"listed as expected to fail but {'passed' if outcome == 'pass' else 'skipped'}: "
                                f"{name} ({reasons[0]})")
        elif outcome == "fail":
            problems.append(f"unexpected failure: {name}")

    print(totals or "# Totals: none (the harness did not finish)")
    failed = sum(1 for outcome in results.values() if outcome == "fail")
    print(f"# expected failures: {failed - sum(1 for p in problems if p.startswith('unexpected failure'))}"
          f" of {listed} listed tests that ran")
    for problem in problems:
        print(f"# MISMATCH: {problem}")
    if opts.summary:
        write_summary(opts.summary, opts, totals, problems)
    return 1 if problems else 0


def write_summary(path, opts, totals, problems):
    """One line per run, replaced atomically so a reader never sees half of it."""
    name = " ".join([os.path.basename(opts.program)] + opts.args)
    counts = totals[len("# Totals:"):].strip() if totals else "no totals"
    verdict = "as expected" if not problems else f"{len(problems)} mismatch(es)"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{name}: {counts} ({verdict})\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
