"""Benchmark of the build and of `mrkg validate` on a graph of a million triples, against the real graph in the same run.

Run from the project root:  .venv/bin/python benchmarks/scale_bench.py [--triples 10M] [--repeat 3] [--shapes DIR]
                                [--max-rss-gib 14] [--skip-store] [--profile]

What "build + validate of the 1M graph" means here: `mrkg scale --facts` writes the real facts repeated under new
source and entity ids (a facts tree and its source texts) until their build has about a million quads; then the real
`mrkg build` runs on it, as a command: read and check every YAML file against its text, assemble the graph and its
conflicts, validate the whole graph against every shape, write every dump (N-Quads, TriG, JSON-LD, Turtle,
N-Triples, each gzipped, VoID, SHA256SUMS, manifest) and publish. Its wall time and peak RSS are measured, and its
phases are read from `--progress`. The same command on the real facts is the baseline.

Curator validation: `mrkg validate facts/sources/001.yaml` with the scaled facts as the context (its copy 0 is the
real data, so 001.yaml replaces source 001 there), against the same with the real facts: the validation itself
(in process, the context loaded once, as one command loads it) and the whole command (interpreter start-up, imports,
context from the parse cache). Each context has a cache of its own; its first command starts from an empty one and
is reported apart; then the two contexts alternate, --repeat runs each, and the medians are compared.

The on-disk store: `mrkg serve` with MRKG_STORE_DIR bulk-loads the build's mrkg.nq into RocksDB on its first start
(engine/oxigraph.disk_store); that load is timed (wall, peak RSS) as a command of its own, then the store is opened
read-only, as the server opens it, and counted.

Goals (issue 13, at 10M triples): the build with whole-graph validation under 15 minutes, its peak RSS under 8 GiB,
`mrkg validate FILE` under 2 s as a warm command; each is marked met or not met. Where one is not met, the report
says which phase took the time or the memory (per-phase seconds and RSS from `--progress`) and, with --profile,
the build's cProfile top entries (the profiled build is a second run of the build, so --profile doubles the time).

Each command is watched: above --max-rss-gib (default 14) it is stopped, so a run never takes the machine down.
Writes benchmarks/report/scale.json and scale.md (atomically). Machines are shared and noisy: every figure comes
with its ratio to the baseline of the same run. Scratch data goes to .bench/ (git-ignored).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PHASE = re.compile(r"^\[\s*([\d.]+) s\] (\w+): (.*) \(([\d.]+) s(?:, RSS (\d+) MiB, peak (\d+) MiB)?\)$")
MAX_RSS_KIB = 14 * 1024 * 1024  # --max-rss-gib: a command above it is stopped
GOALS = {"build_s": 15 * 60, "build_rss_mib": 8 * 1024, "validate_command_s": 2.0}


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_wait4(args: list[str], env: dict | None = None, echo=None) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run a command from the project root: its wall time (s), its own peak RSS (KiB, read by os.wait4) and output.
    Its stderr lines go to ``echo`` as they come (the progress display); above MAX_RSS_KIB it is stopped."""
    start = time.perf_counter()
    out_path = ROOT / ".bench" / ".stdout"
    err_lines: list[str] = []
    with open(out_path, "w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **(env or {})})
        stopped = []

        def watch() -> None:
            while proc.returncode is None and not stopped:
                if _rss_kib(proc.pid) > MAX_RSS_KIB:
                    stopped.append(_rss_kib(proc.pid))
                    proc.kill()
                time.sleep(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for line in proc.stderr:
            err_lines.append(line)
            if echo is not None:
                echo(line.rstrip("\n"))
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stopped.append(0)
    wall = time.perf_counter() - start
    if len(stopped) > 1:
        err_lines.append(f"stopped by scale_bench: RSS {stopped[0] / 1024:.0f} MiB above --max-rss-gib\n")
    return wall, usage.ru_maxrss, subprocess.CompletedProcess(args, proc.returncode, out_path.read_text(),
                                                              "".join(err_lines))


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def mrkg(*args: str) -> list[str]:
    return [PYTHON, "-m", "mrkg", *args]


def build(facts: Path, sources: Path, reference: Path, out: Path, shapes: Path | None, label: str,
          profile: Path | None = None) -> dict:
    args = mrkg("build", "--facts", str(facts), "--sources", str(sources), "--out", str(out), "--progress",
                "--reference", str(reference))
    if shapes is not None:
        args += ["--shapes", str(shapes)]
    if profile is not None:
        args = [PYTHON, "-m", "cProfile", "-o", str(profile), *args[1:]]
    print(f"building {label}{' under cProfile' if profile else ''} ...", flush=True)
    phases: dict[str, float] = {}
    phase_rss: dict[str, float] = {}  # the highest peak RSS (MiB) seen by the end of each phase
    steps: list[dict] = []

    def echo(line: str) -> None:
        match = PHASE.match(line)
        if not match:
            return
        print(f"  {line}", flush=True)
        name = match.group(2)
        phases[name] = phases.get(name, 0.0) + float(match.group(4))
        steps.append({"phase": name, "message": match.group(3), "seconds": float(match.group(4)),
                      "rss_mib": float(match.group(5) or 0), "peak_mib": float(match.group(6) or 0)})
        phase_rss[name] = max(phase_rss.get(name, 0.0), float(match.group(6) or 0))

    wall, rss, done = run_wait4(args, echo=echo)
    if done.returncode != 0:
        return {"failed": True, "wall": wall, "peak_rss_mib": rss / 1024, "phases": phases, "phase_peak_mib": phase_rss,
                "steps": steps, "error": done.stderr[-3000:]}
    manifest = json.loads((out / "manifest.json").read_text())
    sizes = {name: meta["bytes"] for name, meta in manifest["files"].items()}
    return {"wall": wall, "peak_rss_mib": rss / 1024, "phases": phases, "phase_peak_mib": phase_rss, "steps": steps,
            "quads": sum(manifest["graphs"].values()), "claims": manifest["stats"]["claims"],
            "bytes": sum(sizes.values()), "summary": done.stdout.strip(), "version": manifest["version"]}


def profile_top(path: Path, n: int = 20) -> list[str]:
    """The top entries of a cProfile dump by cumulative time."""
    import io
    import pstats

    text = io.StringIO()
    pstats.Stats(str(path), stream=text).sort_stats("cumulative").print_stats(n)
    return [line for line in text.getvalue().splitlines() if line.strip()][-(n + 1):]


STORE_LOAD = """
import json, sys, time
from pathlib import Path
from mrkg.engine.oxigraph import OxigraphBackend, disk_store
start = time.perf_counter()
target = disk_store(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
loaded = time.perf_counter() - start
start = time.perf_counter()
backend = OxigraphBackend.on_disk(target)
count = len(backend)
print(json.dumps({"load_s": loaded, "open_count_s": time.perf_counter() - start, "quads": count}))
"""


def store_load(build_dir: Path, version: str, scratch: Path) -> dict:
    """The first start of `mrkg serve` with MRKG_STORE_DIR: the bulk load of mrkg.nq into RocksDB, then the store
    opened read-only and counted, in a process of its own (its peak RSS is the load's)."""
    shutil.rmtree(scratch, ignore_errors=True)
    print("loading the on-disk store (RocksDB) from mrkg.nq ...", flush=True)
    wall, rss, done = run_wait4([PYTHON, "-c", STORE_LOAD, str(build_dir / "mrkg.nq"), str(scratch), version])
    if done.returncode != 0:
        return {"failed": True, "wall": wall, "peak_rss_mib": rss / 1024, "error": done.stderr[-2000:]}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    size = sum(f.stat().st_size for f in scratch.rglob("*") if f.is_file())
    shutil.rmtree(scratch, ignore_errors=True)
    return {**figures, "wall": wall, "peak_rss_mib": rss / 1024, "disk_mib": size / 2**20}


def reused_facts(scaled_dir: Path):
    """The ScaledFacts of a tree written earlier (by this benchmark or `mrkg scale --facts`), counted from its files
    (reading them would take as long as the build's first phase)."""
    from mrkg.scale import ScaledFacts

    facts = scaled_dir / "facts"
    copies = 1 + max((int(m.group(1)) for p in (facts / "entities").glob("*.yaml")
                      for m in [re.search(r"-c(\d+)$", p.stem)] if m), default=0)
    sources = sorted((facts / "sources").glob("*.yaml"))
    claims = sum(len(re.findall(r"(?m)^\s*- id:", p.read_text(encoding="utf-8"))) for p in sources)
    entities = sum(len(re.findall(r"(?m)^\s*- id:", p.read_text(encoding="utf-8")))
                   for p in (facts / "entities").glob("*.yaml"))
    return ScaledFacts(facts, scaled_dir / "sources", copies, len(sources), claims, entities, 0)


def main() -> None:
    global MAX_RSS_KIB
    from mrkg.scale import parse_size, write_scaled_facts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", default="10M", help="size of the scaled graph (default 10M)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per median (default 3)")
    parser.add_argument("--shapes", type=Path, default=None,
                        help="shapes folder for both builds and validations (default: the project's shapes/)")
    parser.add_argument("--skip-build", action="store_true", help="only the curator validation (of an earlier build)")
    parser.add_argument("--skip-store", action="store_true", help="no on-disk store load")
    parser.add_argument("--reuse-facts", action="store_true",
                        help="use the scaled facts an earlier run of the same --triples wrote (writing 10M takes minutes)")
    parser.add_argument("--profile", action="store_true",
                        help="also run the scaled build under cProfile and report its top entries")
    parser.add_argument("--max-rss-gib", type=float, default=14.0, help="stop a command above this RSS (default 14)")
    parser.add_argument("--sources", type=Path, default=Path(os.environ.get("MRKG_SOURCES", ROOT.parent / "shared" / "sources")))
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference" / "identifiers.tsv")
    parser.add_argument("--report", type=Path, default=ROOT / "benchmarks" / "report",
                        help="folder of scale.json and scale.md (default benchmarks/report)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    MAX_RSS_KIB = int(args.max_rss_gib * 1024 * 1024)
    from mrkg.bench import _inputs_digest, in_checkout, size_label

    triples = parse_size(args.triples)
    bench = ROOT / ".bench"
    bench.mkdir(exist_ok=True)
    # The layout of `mrkg bench` (size-<N>/facts-tree, size-<N>/build, inputs.sha256), so that the HTTP bench that
    # `make bench` runs next serves this build instead of making the same one again.
    folder = bench / f"size-{size_label(triples)}"
    scaled_dir = folder / "facts-tree"
    shapes = args.shapes.resolve() if args.shapes else ROOT / "shapes"
    results: dict = {"triples": triples, "size": args.triples, "repeat": args.repeat, "shapes": str(args.shapes or "shapes"),
                     "machine": f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}",
                     "load_before": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                     "commit": _commit()}

    start = time.perf_counter()
    if args.reuse_facts and (scaled_dir / "facts" / "dataset.yaml").is_file():
        made = reused_facts(scaled_dir)
    else:
        made = write_scaled_facts(scaled_dir, triples, facts_dir=ROOT / "facts", sources_dir=args.sources,
                                  ontology_dir=ROOT / "ontology", progress=True)
    print(f"scaled facts: {made.copies} copies, {made.sources} sources, {made.claims} claims, about "
          f"{made.estimated_quads} quads ({time.perf_counter() - start:.1f} s to write; not part of the build)",
          flush=True)
    results["scaled"] = {"copies": made.copies, "sources": made.sources, "claims": made.claims,
                         "entities": made.entities, "write_s": time.perf_counter() - start}

    goals: dict = {}
    big_build = folder / "build"
    stamp = folder / "inputs.sha256"
    if not args.skip_build:
        real = build(ROOT / "facts", args.sources, args.reference, bench / "build-real", args.shapes, "the real facts")
        big = build(made.facts_dir, made.sources_dir, args.reference, big_build, args.shapes, f"{args.triples} triples")
        if args.shapes is None and not big.get("failed"):
            write_atomic(stamp, _inputs_digest(triples, ROOT / "facts", args.sources, ROOT / "ontology") + "\n")
        else:
            stamp.unlink(missing_ok=True)
        results["build"] = {"real": real, "scaled": big, "ratio": big["wall"] / real["wall"]}
        slowest = max(big["phases"].items(), key=lambda kv: kv[1], default=("-", 0.0))
        fattest = max(big["phase_peak_mib"].items(), key=lambda kv: kv[1], default=("-", 0.0))
        why = (f"slowest phase {slowest[0]} {slowest[1]:.0f} s; peak RSS reached in phase {fattest[0]} "
               f"({fattest[1]:.0f} MiB)" + (f"; failed: {big['error'].strip().splitlines()[-1]}" if big.get("failed") else ""))
        goals["build + whole-graph validation < 15 min"] = {
            "met": not big.get("failed") and big["wall"] < GOALS["build_s"], "value": f"{big['wall']:.0f} s", "why": why}
        goals["build peak RSS < 8 GiB"] = {
            "met": not big.get("failed") and big["peak_rss_mib"] < GOALS["build_rss_mib"],
            "value": f"{big['peak_rss_mib']:.0f} MiB", "why": why}
        if args.profile and not big.get("failed"):
            prof = bench / "build.prof"
            build(made.facts_dir, made.sources_dir, args.reference, big_build, args.shapes,
                  f"{args.triples} triples", profile=prof)
            results["build"]["profile_top"] = profile_top(prof)

    built_now = "build" not in results or not results["build"]["scaled"].get("failed")
    if not args.skip_store and built_now and (big_build / "mrkg.nq").is_file():
        version = json.loads((big_build / "manifest.json").read_text())["version"]
        results["store"] = store_load(big_build, version, bench / "store-dir")
        st = results["store"]
        goals["store_dir: bulk load into RocksDB works, then opens read-only"] = {
            "met": not st.get("failed"), "value": (f"load {st['load_s']:.0f} s, peak RSS {st['peak_rss_mib']:.0f} MiB, "
                                                   f"{st['disk_mib']:.0f} MiB on disk; read-only open + count "
                                                   f"{st['open_count_s']:.1f} s" if not st.get("failed") else "failed"),
            "why": st.get("error", "")}

    # Curator validation. The runs of the two contexts alternate, so that a change in the machine's load hits both.
    from mrkg.curate import Context, validate_files

    cache = bench / "xdg-cache"
    shutil.rmtree(cache, ignore_errors=True)  # the first command of each context starts from an empty cache
    source_file = ROOT / "facts" / "sources" / "001.yaml"
    contexts = {"real": (ROOT / "facts", args.sources), "scaled": (made.facts_dir, made.sources_dir)}
    env = {label: {"XDG_CACHE_HOME": str(cache / label)} for label in contexts}  # one cache each: both start cold
    commands = {label: mrkg("validate", "--facts", str(facts), "--sources", str(sources), "--shapes", str(shapes),
                            "--reference", str(args.reference), str(source_file))
                for label, (facts, sources) in contexts.items()}
    figures: dict = {label: {"validation_runs": [], "command_runs": []} for label in contexts}
    print("mrkg validate: first commands (empty parse cache) ...", flush=True)
    for label, command in commands.items():
        first, rss, done = run_wait4(command, env[label])
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        figures[label]["first_command"] = first
        figures[label]["first_peak_rss_mib"] = rss / 1024
        print(f"  {label}: {first:.2f} s, peak RSS {rss / 1024:.0f} MiB", flush=True)
    loaded = {}
    for label, (facts, sources) in contexts.items():
        ctx = Context.load(facts, ROOT / "ontology", sources, shapes, args.reference, cache / label / "mrkg" / "facts")
        ctx.shapes, ctx.ontology  # parsed once per process, as in one command
        validate_files(ctx, [source_file])  # the first run reads the sources its context needs
        loaded[label] = ctx
    for n in range(args.repeat):
        print(f"mrkg validate: round {n + 1} of {args.repeat} ...", flush=True)
        for label, ctx in loaded.items():
            gc.collect()
            start = time.perf_counter()
            report = validate_files(ctx, [source_file])
            figures[label]["validation_runs"].append(time.perf_counter() - start)
            figures[label]["report"] = report.summary()
        for label, command in commands.items():
            wall, rss, done = run_wait4(command, env[label])
            figures[label]["command_runs"].append(wall)
            figures[label]["peak_rss_mib"] = rss / 1024
            figures[label]["command_report"] = (done.stdout.strip().splitlines() or [""])[-1]
    del loaded
    for label in contexts:
        figures[label]["validation"] = statistics.median(figures[label]["validation_runs"])
        figures[label]["command"] = statistics.median(figures[label]["command_runs"])
    figures["ratio_validation"] = figures["scaled"]["validation"] / figures["real"]["validation"]
    figures["ratio_command"] = figures["scaled"]["command"] / figures["real"]["command"]
    results["validate"] = figures
    results["load_after"] = os.getloadavg()
    big_v = figures["scaled"]
    goals["mrkg validate FILE < 2 s (warm command)"] = {
        "met": big_v["command"] < GOALS["validate_command_s"], "value": f"{big_v['command']:.2f} s",
        "why": (f"the validation itself {big_v['validation']:.2f} s; the rest is start-up and loading the context from "
                f"the parse cache; cold (empty cache) {big_v['first_command']:.1f} s")}
    previous = _previous_run(args.report / "scale.json", triples)
    for part, names in (("build", BUILD_GOALS), ("store", STORE_GOALS)):
        if part not in results and part in previous:  # --skip-build / --skip-store: the last run's figures, dated
            results[part] = previous[part]
            results[part].setdefault("from_run", f"{previous['started']}, commit {previous.get('commit', '?')}")
            goals.update({n: previous["goals"][n] for n in names if n in previous.get("goals", {})})
    order = [*BUILD_GOALS, *STORE_GOALS]
    results["goals"] = dict(sorted(goals.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))

    md = in_checkout(report_markdown(results, args))
    print("\n" + md)
    args.report.mkdir(parents=True, exist_ok=True)
    figures = in_checkout(json.dumps(results, indent=2, default=str) + "\n")
    write_atomic(args.report / "scale.json", figures)
    write_atomic(args.report / "scale.md", md)
    if args.json:
        write_atomic(args.json, figures)
    print(f"wrote {args.report / 'scale.json'} and {args.report / 'scale.md'}")
    shutil.rmtree(bench / "build-real", ignore_errors=True)
    shutil.rmtree(bench / ".build-real-versions", ignore_errors=True)


BUILD_GOALS = ("build + whole-graph validation < 15 min", "build peak RSS < 8 GiB")
STORE_GOALS = ("store_dir: bulk load into RocksDB works, then opens read-only",)


def _previous_run(path: Path, triples: int) -> dict:
    """The report of the last run at this size, whose build and store figures a run without them carries over."""
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return previous if previous.get("triples") == triples else {}


def _commit() -> str:
    """The commit measured (with "+changes" when the work tree differs from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+changes" if dirty else "")


def report_markdown(results: dict, args) -> str:
    size = results["size"]
    lines = [f"# Build, validation and store at {size} triples", "",
             f"{results['machine']}; commit {results.get('commit', '?')}; started {results['started']}; load average {results['load_before'][0]:.1f} "
             f"before, {results['load_after'][0]:.1f} after; shapes: {results['shapes']}. Scaled facts: "
             f"{results['scaled']['copies']} copies of the real facts, {results['scaled']['sources']} sources, "
             f"{results['scaled']['claims']} claims.", "", "## Goals", "", "| goal | met | value | why / where |",
             "| --- | --- | ---: | --- |"]
    for name, goal in results["goals"].items():
        lines.append(f"| {name} | {'met' if goal['met'] else '**not met**'} | {goal['value']} | "
                     f"{'' if goal['met'] else goal['why']} |")
    if "build" in results:
        real, big = results["build"]["real"], results["build"]["scaled"]
        lines += ["", "## Build (`mrkg build --progress`, as a command)", ""]
        if results["build"].get("from_run"):
            lines += [f"From the run of {results['build']['from_run']} (this run was given --skip-build).", ""]
        lines += [
                  f"| phase | real facts (s) | {size} (s) | {size}: peak RSS by its end (MiB) |", "| --- | ---: | ---: | ---: |"]
        for phase in big["phases"]:
            lines.append(f"| {phase} | {real['phases'].get(phase, 0.0):.1f} | {big['phases'][phase]:.1f} | "
                         f"{big['phase_peak_mib'].get(phase, 0):.0f} |")
        lines.append(f"| **whole command** | {real['wall']:.1f} | {big['wall']:.1f} | {big['peak_rss_mib']:.0f} |")
        if not big.get("failed"):
            lines += ["", f"{big.get('quads')} quads, {big.get('claims')} claims, {big.get('bytes')} bytes written; "
                      f"the real facts: {real.get('quads')} quads, peak RSS {real['peak_rss_mib']:.0f} MiB."]
        else:
            lines += ["", "The scaled build failed:", "", "```", big["error"].strip()[-1500:], "```"]
        lines += ["", "Steps of the scaled build:", "", "| phase | step | s | RSS (MiB) | peak (MiB) |",
                  "| --- | --- | ---: | ---: | ---: |"]
        lines += [f"| {st['phase']} | {st['message']} | {st['seconds']:.1f} | {st['rss_mib']:.0f} | {st['peak_mib']:.0f} |"
                  for st in big["steps"]]
        if results["build"].get("profile_top"):
            lines += ["", "cProfile of the scaled build, top entries by cumulative time:", "", "```",
                      *results["build"]["profile_top"], "```"]
    if "store" in results and not results["store"].get("failed"):
        st = results["store"]
        lines += ["", "## On-disk store (MRKG_STORE_DIR, first start)", ""]
        if st.get("from_run"):
            lines += [f"From the run of {st['from_run']}.", ""]
        lines += [
                  f"bulk load of mrkg.nq into RocksDB {st['load_s']:.1f} s (whole command {st['wall']:.1f} s, peak RSS "
                  f"{st['peak_rss_mib']:.0f} MiB, {st['disk_mib']:.0f} MiB on disk); opened read-only and counted "
                  f"({st['quads']} quads) in {st['open_count_s']:.1f} s."]
    v = results["validate"]
    real, big = v["real"], v["scaled"]
    lines += ["", "## `mrkg validate facts/sources/001.yaml`", "", f"| | real facts | {size} | ratio |",
              "| --- | ---: | ---: | ---: |",
              f"| the validation itself, median of {results['repeat']} (s) | {real['validation']:.3f} | "
              f"{big['validation']:.3f} | {v['ratio_validation']:.2f} |",
              f"| the whole command, warm cache, median of {results['repeat']} (s) | {real['command']:.3f} | "
              f"{big['command']:.3f} | {v['ratio_command']:.2f} |",
              f"| first command, empty parse cache (s) | {real['first_command']:.2f} | {big['first_command']:.2f} | |",
              f"| peak RSS of the command (MiB) | {real['peak_rss_mib']:.0f} | {big['peak_rss_mib']:.0f} | |",
              f"| report | {real['command_report']} | {big['command_report']} | |", "",
              f"Reproduce: `.venv/bin/python benchmarks/scale_bench.py --triples {size} --repeat {results['repeat']}"
              + (f" --shapes {args.shapes}" if args.shapes else "") + "`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
