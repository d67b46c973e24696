"""Benchmark of the build and of `mrkg validate` on a graph of a million triples, against the real graph in the same run.

Run from the project root:  .venv/bin/python benchmarks/scale_bench.py [--triples 1M] [--repeat 3] [--shapes DIR]

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

Machines are shared and noisy: every figure comes with its ratio to the baseline of the same run. Nothing is
asserted. Scratch data goes to .bench/ (git-ignored).
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PHASE = re.compile(r"^\[\s*([\d.]+) s\] (\w+): (.*) \(([\d.]+) s\)$")


def run_wait4(args: list[str], env: dict | None = None) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run a command from the project root: its wall time (s), its own peak RSS (KiB, read by os.wait4) and output."""
    start = time.perf_counter()
    out_path, err_path = ROOT / ".bench" / ".stdout", ROOT / ".bench" / ".stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss, subprocess.CompletedProcess(args, proc.returncode, out_path.read_text(),
                                                              err_path.read_text())


def mrkg(*args: str) -> list[str]:
    return [PYTHON, "-m", "mrkg", *args]


def build(facts: Path, sources: Path, reference: Path, out: Path, shapes: Path | None, label: str) -> dict:
    args = mrkg("build", "--facts", str(facts), "--sources", str(sources), "--out", str(out), "--progress",
                "--reference", str(reference))
    if shapes is not None:
        args += ["--shapes", str(shapes)]
    print(f"building {label} ...", flush=True)
    wall, rss, done = run_wait4(args)
    if done.returncode != 0:
        raise SystemExit(f"the build of {label} failed:\n{done.stderr[-3000:]}")
    phases: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = PHASE.match(line)
        if match:
            print(f"  {line}", flush=True)
            phases[match.group(2)] = phases.get(match.group(2), 0.0) + float(match.group(4))
    manifest = json.loads((out / "manifest.json").read_text())
    sizes = {name: meta["bytes"] for name, meta in manifest["files"].items()}
    return {"wall": wall, "peak_rss_mib": rss / 1024, "phases": phases, "quads": sum(manifest["graphs"].values()),
            "claims": manifest["stats"]["claims"], "bytes": sum(sizes.values()), "summary": done.stdout.strip()}


def main() -> None:
    from mrkg.scale import parse_size, write_scaled_facts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", default="1M", help="size of the scaled graph (default 1M)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per median (default 3)")
    parser.add_argument("--shapes", type=Path, default=None,
                        help="shapes folder for both builds and validations (default: the project's shapes/)")
    parser.add_argument("--skip-build", action="store_true", help="only the curator validation")
    parser.add_argument("--sources", type=Path, default=Path(os.environ.get("MRKG_SOURCES", ROOT.parent / "shared" / "sources")))
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference" / "identifiers.tsv")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    triples = parse_size(args.triples)
    bench = ROOT / ".bench"
    bench.mkdir(exist_ok=True)
    scaled_dir = bench / f"facts-{args.triples.lower()}"
    shapes = args.shapes.resolve() if args.shapes else ROOT / "shapes"
    results: dict = {"triples": triples, "repeat": args.repeat, "shapes": str(args.shapes or "shapes"),
                     "machine": f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}",
                     "load_before": os.getloadavg()}

    start = time.perf_counter()
    made = write_scaled_facts(scaled_dir, triples, facts_dir=ROOT / "facts", sources_dir=args.sources,
                              ontology_dir=ROOT / "ontology", progress=True)
    print(f"scaled facts: {made.copies} copies, {made.sources} sources, {made.claims} claims, about "
          f"{made.estimated_quads} quads ({time.perf_counter() - start:.1f} s to write; not part of the build)",
          flush=True)
    results["scaled"] = {"copies": made.copies, "sources": made.sources, "claims": made.claims,
                         "entities": made.entities}

    if not args.skip_build:
        real = build(ROOT / "facts", args.sources, args.reference, bench / "build-real", args.shapes, "the real facts")
        big = build(made.facts_dir, made.sources_dir, args.reference, scaled_dir / "build", args.shapes,
                    f"{args.triples} triples")
        results["build"] = {"real": real, "scaled": big, "ratio": big["wall"] / real["wall"]}

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
    for label, command in commands.items():
        first, rss, done = run_wait4(command, env[label])
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        figures[label]["first_command"] = first
    loaded = {}
    for label, (facts, sources) in contexts.items():
        ctx = Context.load(facts, ROOT / "ontology", sources, shapes, args.reference, cache / label / "mrkg" / "facts")
        ctx.shapes, ctx.ontology  # parsed once per process, as in one command
        validate_files(ctx, [source_file])  # the first run reads the sources its context needs
        loaded[label] = ctx
    for _ in range(args.repeat):
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
    for label in contexts:
        figures[label]["validation"] = statistics.median(figures[label]["validation_runs"])
        figures[label]["command"] = statistics.median(figures[label]["command_runs"])
    figures["ratio_validation"] = figures["scaled"]["validation"] / figures["real"]["validation"]
    figures["ratio_command"] = figures["scaled"]["command"] / figures["real"]["command"]
    results["validate"] = figures
    results["load_after"] = os.getloadavg()

    print(f"\n{results['machine']}; load average {results['load_before'][0]:.1f} before, "
          f"{results['load_after'][0]:.1f} after; shapes: {results['shapes']}")
    if "build" in results:
        real, big = results["build"]["real"], results["build"]["scaled"]
        print(f"\n| build (`mrkg build --progress`) | real graph | {args.triples} | ratio |")
        print("| --- | ---: | ---: | ---: |")
        print(f"| quads | {real['quads']} | {big['quads']} | {big['quads'] / real['quads']:.1f} |")
        for phase in big["phases"]:
            r, b = real["phases"].get(phase, 0.0), big["phases"][phase]
            print(f"| {phase} (s) | {r:.1f} | {b:.1f} | {b / r if r else float('nan'):.1f} |")
        print(f"| **wall, whole command (s)** | {real['wall']:.1f} | {big['wall']:.1f} | {big['wall'] / real['wall']:.1f} |")
        print(f"| peak RSS (MiB) | {real['peak_rss_mib']:.0f} | {big['peak_rss_mib']:.0f} | "
              f"{big['peak_rss_mib'] / real['peak_rss_mib']:.1f} |")
        print(f"| bytes written | {real['bytes']} | {big['bytes']} | {big['bytes'] / real['bytes']:.1f} |")
        if triples >= 1_000_000:
            verdict = "met" if big["wall"] < 120 else "missed"
            print(f"\ngoal 'build + validate of the 1M graph < 2 minutes': {verdict} ({big['wall']:.1f} s)")
    real, big = figures["real"], figures["scaled"]
    print(f"\n| `mrkg validate facts/sources/001.yaml` | real graph | {args.triples} | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| the validation itself, median of {args.repeat} (s) | {real['validation']:.3f} | {big['validation']:.3f} | "
          f"{figures['ratio_validation']:.2f} |")
    print(f"| the whole command, median of {args.repeat} (s) | {real['command']:.3f} | {big['command']:.3f} | "
          f"{figures['ratio_command']:.2f} |")
    print(f"| first command, empty parse cache (s) | {real['first_command']:.2f} | {big['first_command']:.2f} | |")
    print(f"| peak RSS of the command (MiB) | {real['peak_rss_mib']:.0f} | {big['peak_rss_mib']:.0f} | |")
    print(f"| report | {real['command_report']} | {big['command_report']} | |")
    if triples >= 1_000_000:
        verdict = "met" if big["command"] < 1 else "missed"
        print(f"\ngoal 'curator validation of one file against the 1M graph < 1 s': {verdict} (whole command "
              f"{big['command']:.2f} s, validation itself {big['validation']:.2f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nReproduce: .venv/bin/python benchmarks/scale_bench.py --triples {args.triples} --repeat {args.repeat}"
          + (f" --shapes {args.shapes}" if args.shapes else ""))
    shutil.rmtree(bench / "build-real", ignore_errors=True)
    shutil.rmtree(bench / ".build-real-versions", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
