#!/usr/bin/python3
"""rt_guard_check — verdict on the JSON reports of the RT guard preload
(librtguard_jack.so; docs/testing.md, "RT guard for whole programs").

    rt_guard_check.py [options] REPORT|DIR...

Each argument is a report file or a directory whose *.json files are
reports. A report passes when the guard was available, guarded at least
--min-cycles process cycles, counted no violation, left no callback
unguarded and has no warnings. Violations are printed with the function that
called the forbidden symbol and a short backtrace.

  --min-cycles N        guarded cycles each report needs (default 1)
  --expect SYM[@FUNC]   invert the verdict for a self-test of the guard: pass
                        only if SYM was counted in every report (and, with
                        @FUNC, some recorded violation of SYM names FUNC in
                        its caller or backtrace); other violations allowed
  -q, --quiet           print failures only

Exit status: 0 all pass; 1 a report fails (or none was found); 2 usage error
or a malformed/unreadable report; 77 the guard was unavailable in every
report (a sanitizer build: not checked, which is not a pass).
"""
import json
import os
import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 77
PROG = "rt_guard_check"


class Malformed(Exception):
    pass


def usage_error(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)
    print(f"usage: {PROG}.py [--min-cycles N] [--expect SYM[@FUNC]] [-q] REPORT|DIR...", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def need(obj, key, types, where):
    if not isinstance(obj, dict) or key not in obj:
        raise Malformed(f"{where}: missing \"{key}\"")
    v = obj[key]
    # bool is an int in Python: never accept one for the other.
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise Malformed(f"{where}: \"{key}\" has the wrong type")
    if not isinstance(v, types):
        raise Malformed(f"{where}: \"{key}\" has the wrong type ({type(v).__name__})")
    if isinstance(v, int) and not isinstance(v, bool) and v < 0:
        raise Malformed(f"{where}: \"{key}\" is negative")
    return v


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
    except OSError as e:
        raise Malformed(f"{path}: cannot read: {e.strerror}")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Malformed(f"{path}: not JSON: {e}")
    if not isinstance(r, dict):
        raise Malformed(f"{path}: not a JSON object")
    if r.get("tool") != "ictal-rt-guard":
        raise Malformed(f"{path}: not an RT guard report (\"tool\" is not \"ictal-rt-guard\")")
    if need(r, "version", int, path) != 1:
        raise Malformed(f"{path}: report version {r['version']} (this checker reads version 1)")
    if not need(r, "available", bool, path):
        return r
    for k in ("pid", "cycles", "freewheel_cycles_guarded", "freewheel_cycles_skipped", "violations"):
        need(r, k, int, path)
    need(r, "program", str, path)
    for sym, n in need(r, "by_symbol", dict, path).items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise Malformed(f"{path}: by_symbol \"{sym}\" is not a count")
    ung = need(r, "unguarded", dict, path)
    need(ung, "process_threads", int, f"{path}: unguarded")
    need(ung, "clients_over_limit", int, f"{path}: unguarded")
    for k in ung:
        need(ung, k, int, f"{path}: unguarded")
    for i, h in enumerate(need(r, "first_violations", list, path)):
        where = f"{path}: first_violations[{i}]"
        need(h, "symbol", str, where)
        need(h, "function", str, where)
        need(h, "object", str, where)
        for fr in need(h, "backtrace", list, where):
            need(fr, "function", str, where + " backtrace")
            need(fr, "object", str, where + " backtrace")
    for w in need(r, "warnings", list, path):
        if not isinstance(w, str):
            raise Malformed(f"{path}: warnings must be strings")
    need(r, "clients", list, path)
    return r


def frame_name(fr):
    if fr.get("function"):
        return fr["function"]
    obj = os.path.basename(fr.get("object") or "?")
    return f"{obj}+{fr.get('offset', '?')}"


def describe_violations(r):
    lines = []
    counts = ", ".join(f"{s} x{n}" for s, n in sorted(r["by_symbol"].items(), key=lambda x: -x[1]) if n)
    if counts:
        lines.append(f"    {counts}")
    for h in r["first_violations"]:
        obj = os.path.basename(h["object"]) if h["object"] else "?"
        fn = h["function"] or "?"
        lines.append(f"    {h['symbol']} x{h.get('count', 1)} called from {fn} ({obj}+{h.get('offset', '?')}),"
                     f" first in cycle {h.get('cycle', '?')}")
        bt = [frame_name(fr) for fr in h["backtrace"]]
        if bt:
            lines.append("        backtrace: " + " < ".join(bt))
    return lines


def expectation_met(r, sym, func):
    if r["by_symbol"].get(sym, 0) <= 0:
        return False
    if not func:
        return True
    for h in r["first_violations"]:
        if h["symbol"] != sym:
            continue
        if h["function"] == func or any(fr.get("function") == func for fr in h["backtrace"]):
            return True
    return False


def main(argv):
    min_cycles, expects, quiet, paths = 1, [], False, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__.strip())
            return EXIT_OK
        if a in ("-q", "--quiet"):
            quiet = True
        elif a in ("--min-cycles", "--expect"):
            if i + 1 >= len(argv):
                usage_error(f"{a} needs a value")
            v = argv[i + 1]
            i += 1
            if a == "--min-cycles":
                if not v.isdigit() or int(v) < 1:
                    usage_error(f"--min-cycles wants a positive integer, not '{v}'")
                min_cycles = int(v)
            else:
                sym, _, func = v.partition("@")
                if not sym:
                    usage_error(f"--expect wants SYMBOL[@FUNCTION], not '{v}'")
                expects.append((sym, func))
        elif a == "--":
            paths.extend(argv[i + 1:])
            break
        elif a.startswith("-") and a != "-":
            usage_error(f"unknown option {a}")
        else:
            paths.append(a)
        i += 1
    if not paths:
        usage_error("no report or directory given")

    files = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(os.path.join(p, n) for n in os.listdir(p) if n.endswith(".json"))
            if not found:
                print(f"{PROG}: FAIL: no report in {p} (did the program run under the guard, "
                      f"register a process callback and exit normally?)", file=sys.stderr)
                return EXIT_FAIL
            files.extend(found)
        else:
            files.append(p)

    reports = []
    for f in files:
        try:
            reports.append((f, load(f)))
        except Malformed as e:
            print(f"{PROG}: {e}", file=sys.stderr)
            return EXIT_USAGE

    unavailable = [(f, r) for f, r in reports if not r["available"]]
    if unavailable:
        for f, r in unavailable:
            print(f"{PROG}: UNAVAILABLE {f}: {r.get('reason', 'no reason given')} (not checked)",
                  file=sys.stderr)
        if len(unavailable) == len(reports):
            return EXIT_UNAVAILABLE
        print(f"{PROG}: FAIL: some reports unavailable, some not", file=sys.stderr)
        return EXIT_FAIL

    failed = 0
    total_cycles = total_skipped = 0
    for f, r in reports:
        head = f"{f} (pid {r['pid']}, {os.path.basename(r['program']) or '?'})"
        problems = []
        if expects:
            for sym, func in expects:
                if not expectation_met(r, sym, func):
                    problems.append(f"expected {sym}" + (f" from {func}" if func else "") + " was not seen")
        else:
            if r["cycles"] < min_cycles:
                problems.append(f"{r['cycles']} guarded cycles (at least {min_cycles} needed)")
            if r["violations"] or any(r["by_symbol"].values()):
                problems.append(f"{r['violations']} violations in {r['cycles']} guarded cycles")
            bad = {k: v for k, v in r["unguarded"].items() if v}
            if bad:
                problems.append("unguarded: " + ", ".join(f"{k} {v}" for k, v in sorted(bad.items())))
        for w in r["warnings"]:
            problems.append(f"warning: {w}")
        total_cycles += r["cycles"]
        total_skipped += r["freewheel_cycles_skipped"]
        if problems:
            failed += 1
            print(f"{PROG}: FAIL {head}: " + "; ".join(problems), file=sys.stderr)
            for line in describe_violations(r):
                print(line, file=sys.stderr)
        elif not quiet:
            extra = f", {r['freewheel_cycles_skipped']} freewheel cycles not armed" \
                if r["freewheel_cycles_skipped"] else ""
            what = "expected violations seen" if expects else "clean"
            print(f"{PROG}: ok {head}: {what}, {r['cycles']} cycles guarded{extra}")
    if failed:
        return EXIT_FAIL
    if not quiet:
        print(f"{PROG}: {len(reports)} report(s) pass, {total_cycles} cycles guarded"
              + (f", {total_skipped} freewheel cycles not armed" if total_skipped else ""))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
