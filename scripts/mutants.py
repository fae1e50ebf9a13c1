#!/usr/bin/env python3
"""Mutation run over rootd's safety rules (docs/mutation-testing.md).

Each mutant in scripts/mutants.toml is one small semantic change to the code:
a rule loosened, a check dropped, a bound moved by one. For every mutant this
script applies the change to a scratch copy of the tree (outside the
checkout), rebuilds what each test needs, runs the host and ELF tests fastest
first, and reports the mutant as killed at compile time (a static_assert
table or a compile check caught it), killed by the first test that failed,
or survived. It ends with the mutation score over the killable mutants.

A mutant marked `unkillable` is a second line of defence that the first
always hides. It is still run: it reports "unkillable (survived)", or a kill
should a test catch it after all, and it does not count in the score.

A `find` text that is not in its file, or occurs there more than once, is an
error for that mutant: reported, counted, and the exit status is 1.

One scratch build directory is reused: after each mutant the file is restored
and the next build is incremental. It runs outside CI: a full run takes tens
of minutes on two cores.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LIST = ROOT / "scripts" / "mutants.toml"
DEFAULT_WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "rootd-mutants"
# Which test killed each mutant on the last recorded run: tried first, so a
# run mostly costs one incremental build and one test per mutant. Only an
# ordering hint: a stale entry costs time, never a wrong verdict.
KILLERS = ROOT / "scripts" / "mutants.killers.json"
SUITES = ("host", "elf")  # lint (clang-tidy) says nothing about behaviour
KEYS = ("name", "rule", "file", "find", "replace")


@dataclass
class Mutant:
    name: str
    rule: str
    file: str
    find: str
    replace: str
    unkillable: str = ""  # why no test can kill it, when that is so


@dataclass
class Verdict:
    mutant: Mutant
    kind: str  # "compile", "test", "survived", "error"
    detail: str = ""
    test: str = ""
    seconds: float = 0.0

    @property
    def killed(self) -> bool:
        return self.kind in ("compile", "test")


@dataclass
class Test:
    name: str
    targets: list[str]  # ninja targets (relative to the build directory) it needs
    seconds: float = 0.0


def fail(message: str) -> None:
    print(f"mutants: {message}", file=sys.stderr)
    sys.exit(2)


def load_mutants(path: Path) -> list[Mutant]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(f"{path}: {e}")
    mutants = []
    seen = set()
    for i, row in enumerate(data.get("mutant", [])):
        missing = [k for k in KEYS if k not in row]
        if missing:
            fail(f"{path}: mutant #{i + 1} lacks {', '.join(missing)}")
        unknown = set(row) - set(KEYS) - {"unkillable"}
        if unknown:
            fail(f"{path}: mutant {row['name']!r} has unknown keys {sorted(unknown)}")
        if row["name"] in seen:
            fail(f"{path}: mutant {row['name']!r} is listed twice")
        if row["find"] == row["replace"]:
            fail(f"{path}: mutant {row['name']!r} changes nothing")
        seen.add(row["name"])
        mutants.append(Mutant(**row))
    if not mutants:
        fail(f"{path}: no [[mutant]] entries")
    return mutants


def run(cmd: list[str], cwd: Path | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, check=False)


def source_files() -> list[str]:
    out = run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT)
    if out.returncode != 0:
        fail("git ls-files failed: run this from a git checkout of rootd")
    return [f for f in out.stdout.splitlines() if f]


def sync_tree(src: Path) -> None:
    """Copies the checkout into the scratch tree, writing only files whose
    bytes differ, so the scratch build stays incremental across runs."""
    wanted = set()
    for rel in source_files():
        s = ROOT / rel
        if not s.is_file():
            continue
        d = src / rel
        wanted.add(d)
        data = s.read_bytes()
        if d.is_file() and d.read_bytes() == data:
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_bytes(data)
        shutil.copymode(s, d)
    for d in list(src.rglob("*")):
        if d.is_file() and d not in wanted and "subprojects" not in d.relative_to(src).parts[:1]:
            d.unlink()


def first_error(output: str) -> str:
    for line in output.splitlines():
        if "error:" in line or "static assertion failed" in line:
            return line.strip()[:300]
    lines = output.strip().splitlines()
    return lines[-1][:300] if lines else "build failed"


def build(build_dir: Path, targets: list[str], jobs: int, timeout: float | None) -> tuple[bool, str]:
    if not targets:
        return True, ""  # a script test: nothing to build (ninja with no target would build everything)
    try:
        out = run(["ninja", "-C", str(build_dir), f"-j{jobs}", *targets], timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "build timed out"
    return (True, "") if out.returncode == 0 else (False, first_error(out.stdout))


def list_tests(build_dir: Path) -> list[Test]:
    """The host and ELF tests, each with the ninja targets it needs (its
    executable and what meson says it depends on)."""
    intro_tests = json.loads(run(["meson", "introspect", str(build_dir), "--tests"]).stdout)
    intro_targets = json.loads(run(["meson", "introspect", str(build_dir), "--targets"]).stdout)
    by_id = {t["id"]: t for t in intro_targets}
    by_file: dict[str, dict] = {}
    for t in intro_targets:
        for f in t.get("filename", []):
            by_file[f] = t

    def rel(path: str) -> str:
        return os.path.relpath(path, build_dir)

    tests = []
    for t in intro_tests:
        if not {s.split(":")[-1] for s in t.get("suite", [])} & set(SUITES):
            continue
        targets: list[str] = []
        for arg in t["cmd"] + t.get("args", []):
            if arg in by_file:
                targets += [rel(f) for f in by_file[arg]["filename"]]
        for dep in t.get("depends", []):
            if dep in by_id:
                targets += [rel(f) for f in by_id[dep]["filename"]]
        tests.append(Test(t["name"], sorted(set(targets))))
    return tests


def run_test(build_dir: Path, name: str, timeout: float) -> tuple[bool, float]:
    start = time.monotonic()
    try:
        out = run(["meson", "test", "-C", str(build_dir), "--no-rebuild", "--print-errorlogs", name],
                  timeout=timeout)
        ok = out.returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    return ok, time.monotonic() - start


def apply(src: Path, m: Mutant) -> tuple[Path, bytes] | str:
    path = src / m.file
    if not path.is_file():
        return f"{m.file} does not exist"
    original = path.read_bytes()
    text = original.decode()
    count = text.count(m.find)
    if count != 1:
        return f"`find` occurs {count} times in {m.file} (it must occur exactly once)"
    path.write_text(text.replace(m.find, m.replace))
    return path, original


def judge(m: Mutant, src: Path, build_dir: Path, tests: list[Test], jobs: int, timeout: float,
          killer: str = "") -> Verdict:
    # The test that killed this mutant last time goes first: on a re-run most
    # mutants then cost one build and one test.
    tests = sorted(tests, key=lambda t: t.name != killer)
    applied = apply(src, m)
    if isinstance(applied, str):
        return Verdict(m, "error", applied)
    path, original = applied
    try:
        # Test by test, fastest first: each builds only what it needs, and the
        # first failure (build or run) names the killer.
        for t in tests:
            ok, why = build(build_dir, t.targets, jobs, timeout)
            if not ok and "[-Werror" in why:
                # Only a warning (-Werror): the change left something unused,
                # which says nothing about the rule. Fix the mutant's replace.
                return Verdict(m, "error", f"compiles only with a warning: {why}", t.name)
            if not ok:
                return Verdict(m, "compile", why, t.name)
            ok, _ = run_test(build_dir, t.name, timeout)
            if not ok:
                return Verdict(m, "test", test=t.name)
        return Verdict(m, "survived")
    finally:
        path.write_bytes(original)


def describe(v: Verdict) -> str:
    if v.kind == "compile":
        return f"killed at compile time ({v.test}): {v.detail}"
    if v.kind == "test":
        return f"killed by {v.test}"
    if v.kind == "error":
        return f"ERROR: {v.detail}"
    return "unkillable (survived)" if v.mutant.unkillable else "SURVIVED"


def summary_table(verdicts: list[Verdict]) -> str:
    rows = ["| mutant | rule | verdict |", "|---|---|---|"]
    for v in verdicts:
        verdict = describe(v).replace("|", "\\|")
        if len(verdict) > 140:
            verdict = verdict[:137] + "..."
        rows.append(f"| {v.mutant.name} | {v.mutant.rule} | {verdict} |")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Mutation run over rootd's safety rules: apply each mutant of scripts/mutants.toml to a "
                    "scratch copy of the tree, rebuild, run the host and elf tests, and report the score "
                    "(docs/mutation-testing.md).")
    ap.add_argument("--list", action="store_true", help="list the mutants (and check that each applies) and exit")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    ap.add_argument("--mutants", type=Path, default=DEFAULT_LIST, help="mutant list (default: scripts/mutants.toml)")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK,
                    help=f"scratch directory, reused between runs (default: {DEFAULT_WORK})")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--report", type=Path, metavar="FILE", help="also write the results as a Markdown table to FILE")
    ap.add_argument("--save-killers", action="store_true",
                    help="record each killer in scripts/mutants.killers.json (commit it) instead of the work directory")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="ninja jobs (default: 2)")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds allowed for one mutant's build or one test (default: 1800)")
    args = ap.parse_args()

    # A TERM (like Ctrl-C) unwinds through judge(), which restores the file.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mutants = load_mutants(args.mutants)
    if args.only:
        names = {m.name for m in mutants}
        unknown = [n for n in args.only if n not in names]
        if unknown:
            fail(f"no such mutant: {', '.join(unknown)}")
        mutants = [m for m in mutants if m.name in args.only]
    if args.list:
        bad = 0
        for m in mutants:
            path = ROOT / m.file
            count = path.read_text().count(m.find) if path.is_file() else 0
            flag = "  (unkillable)" if m.unkillable else ""
            state = "" if count == 1 else f"  ERROR: `find` occurs {count} times"
            bad += count != 1
            print(f"{m.name:44} {m.rule:22} {m.file}{flag}{state}")
        return 1 if bad else 0

    started = time.monotonic()
    src = args.work / "src"
    build_dir = args.work / "build"
    src.mkdir(parents=True, exist_ok=True)
    print(f"mutants: copying the tree to {src}", flush=True)
    sync_tree(src)
    if not (build_dir / "build.ninja").is_file():
        print("mutants: configuring the scratch build", flush=True)
        out = run(["meson", "setup", str(build_dir), str(src), "--wrap-mode=nodownload"])
        if out.returncode != 0:
            print(out.stdout)
            fail("meson setup failed")
    tests = list_tests(build_dir)
    if not tests:
        fail("the scratch build lists no host or elf tests")
    print(f"mutants: baseline build and {len(tests)} tests (must pass)", flush=True)
    # No time limit here: a first build of everything takes as long as it takes.
    ok, why = build(build_dir, sorted({x for t in tests for x in t.targets}), args.jobs, None)
    if not ok:
        fail(f"the unmutated tree does not build: {why}")
    for t in tests:
        ok, t.seconds = run_test(build_dir, t.name, args.timeout)
        if not ok:
            fail(f"the unmutated tree fails {t.name}")
    tests.sort(key=lambda t: t.seconds)
    print("mutants: test order: " + ", ".join(f"{t.name} ({t.seconds:.1f} s)" for t in tests), flush=True)

    killers: dict[str, str] = {}
    for f in (KILLERS, args.work / "killers.json"):
        try:
            killers.update(json.loads(f.read_text()))
        except (OSError, json.JSONDecodeError):
            pass
    killers_file = KILLERS if args.save_killers else args.work / "killers.json"
    verdicts: list[Verdict] = []
    for i, m in enumerate(mutants, 1):
        start = time.monotonic()
        v = judge(m, src, build_dir, tests, args.jobs, args.timeout, killers.get(m.name, ""))
        v.seconds = time.monotonic() - start
        verdicts.append(v)
        if v.killed:
            killers[m.name] = v.test
            killers_file.write_text(json.dumps(killers, indent=1, sort_keys=True) + "\n")
        print(f"[{i}/{len(mutants)}] {m.name}: {describe(v)} ({v.seconds:.0f} s)", flush=True)
        write_results(args, verdicts, time.monotonic() - started)  # partial results survive an interrupted run
    # Leave the scratch build matching the unmutated tree for the next run.
    build(build_dir, sorted({x for t in tests for x in t.targets}), args.jobs, None)
    return finish(args, verdicts, time.monotonic() - started)


def score_line(verdicts: list[Verdict], wall: float) -> tuple[str, dict]:
    killable = [v for v in verdicts if not v.mutant.unkillable and v.kind != "error"]
    killed = [v for v in killable if v.killed]
    errors = [v for v in verdicts if v.kind == "error"]
    unkillable = [v for v in verdicts if v.mutant.unkillable]
    score = 100.0 * len(killed) / len(killable) if killable else 0.0
    line = (f"mutation score: {len(killed)}/{len(killable)} killable mutants killed ({score:.1f} %); "
            f"{len(unkillable)} listed unkillable; {len(errors)} did not apply; wall time {wall / 60:.1f} min")
    return line, {"killed": len(killed), "killable": len(killable), "percent": round(score, 1),
                  "unkillable": len(unkillable), "errors": len(errors)}


def write_results(args: argparse.Namespace, verdicts: list[Verdict], wall: float) -> None:
    line, score = score_line(verdicts, wall)
    if args.report:
        args.report.write_text(summary_table(verdicts) + f"\n\n{line}\n")
    if args.json:
        args.json.write_text(json.dumps({
            "score": score,
            "wall_seconds": round(wall, 1),
            "mutants": [{**asdict(v.mutant), "verdict": v.kind, "killer": v.test, "detail": v.detail,
                         "seconds": round(v.seconds, 1)} for v in verdicts],
        }, indent=2) + "\n")


def finish(args: argparse.Namespace, verdicts: list[Verdict], wall: float) -> int:
    write_results(args, verdicts, wall)
    line, _ = score_line(verdicts, wall)
    print()
    print(summary_table(verdicts))
    print("\n" + line)
    return 1 if any(v.kind == "error" for v in verdicts) else 0

if __name__ == "__main__":
    sys.exit(main())
