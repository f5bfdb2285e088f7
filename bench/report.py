#!/usr/bin/env python3
"""Writes bench/run's results into docs/BENCHMARKS.md (used by bench/run).

    bench/report.py <meta.json> <results.jsonl> <doc.md>

Replaces the text between the markers BEGIN and END below (inserting them after the
document's first paragraph if they are missing) with a generated section: when and where
the run was, then one table row per figure with its /healthz ratio, the machine's load and
other processes' CPU, the check the script made, and the command that reproduces the figure
on its own. Nothing outside the markers is touched. Every number comes from the JSON lines
the bench scripts wrote; a benchmark that failed is listed as failed, with no figure.
"""

import json
import sys

BEGIN = "<!-- bench/run: generated results, begin (do not edit by hand) -->"
END = "<!-- bench/run: generated results, end -->"


def fmt(v, unit):
    if unit == "ms":
        return f"{v:,.1f} ms" if v < 100 else f"{v:,.0f} ms"
    return f"{v:,.0f} {unit}"


def ratio(r):
    if r["ratio_kind"] == "rate":
        return f"{r['ratio']:.4f}"
    return f"{r['ratio']:,.0f} healthz answers"


def detail(r):
    """The secondary figures of a row, in words."""
    k = r["id"].split("-")[0]
    if k == "send":
        return f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}; server {r['server_cores']} cores, PostgreSQL {r['db_cores']}"
    if k == "e2e":
        return (f"{r['messages']:,} messages in {r['seconds']} s (first send to last in the sandbox); "
                f"{r['steady_rate']:,.0f}/s between first and last arrival; sends accepted at {r['send_rate']:,.0f}/s "
                f"(p50 {r['send_p50_ms']} ms, p99 {r['send_p99_ms']} ms)")
    if k == "reply":
        return (f"p99 {r['p99_ms']} ms ({r['p99_ratio']:,.0f} healthz answers), max {r['max_ms']} ms over "
                f"{r['conversations']} conversations; inbound POST alone p50 {r['inbound_post_p50_ms']} ms; "
                f"client polls every {r['poll_ms']:g} ms")
    if k == "status":
        return f"{r['callbacks']:,} callbacks; p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}; server {r['server_cores']} cores"
    if k == "timers":
        return (f"p50 {r['p50_ms']} ms, max {r['max_ms']} ms, {r['fired']}/{r['firing']} fired; RSS before the worker "
                f"{r['rss_before_mb']} MB, after {r['rss_after_mb']} MB, peak {r['peak_rss_mb']} MB")
    if k == "batch":
        return (f"**peak RSS {r['peak_rss_mb']:.0f} MB**; {r['wall_s']} s in all (upload {r['upload_s']} s, "
                f"enqueue {r['enqueue_s']} s)")
    return ""


def main():
    meta_path, results_path, doc_path = sys.argv[1:4]
    meta = json.load(open(meta_path))
    results = [json.loads(l) for l in open(results_path) if l.strip()]
    by_id = {r["id"]: r for r in results}

    out = [BEGIN, "", f"## Results of the last `bench/run`", ""]
    out.append(f"Run {meta['started']} to {meta['finished']} (UTC) on commit `{meta['commit']}`"
               f"{' with uncommitted changes' if meta['dirty'] else ''}, {meta['cpus']} cores "
               f"({meta['cpu_model']}), load average {meta['load_start']} at the start and "
               f"{meta['load_end']} at the end; every phase {meta['duration']}. "
               f"The binaries: {meta['bin_source']}.")
    out.append("")
    out.append("\"healthz ratio\": for a rate, the figure divided by the same server's `/healthz` "
               "rate in the same run (wrk, same connections); for a latency, the latency times that "
               "rate (how many `/healthz` answers the server gives in that time). Both stay put when "
               "the whole machine runs slower; compare them across runs, and read the absolute "
               "figures as context. \"load\" is the 1-minute load average at the end of the phase; "
               "\"others\" is the CPU (in cores, of the machine's "
               f"{meta['cpus']}) that processes other than the server, its database backends and the "
               "load generator used during the measured phase and during its `/healthz` phase (other "
               "people's work on this shared machine, and the benchmark script's own polling).")
    out.append("")
    out.append("| benchmark | figure | healthz req/s | healthz ratio | load (1 min) | others (cores): phase / healthz | check | details |")
    out.append("|---|---|---|---|---|---|---|---|")
    for b in meta["benchmarks"]:
        for fid in b["ids"]:
            r = by_id.get(fid)
            if r is None:
                out.append(f"| {fid} | **failed** (exit {b['status']}; no figure) | | | | | | see the run's log |")
                continue
            out.append(f"| {r['title']} | **{fmt(r['value'], r['unit'])}** | {r['healthz_rps']:,.0f} | {ratio(r)} | "
                       f"{r['load1']:.1f} | {r['other_cores']:.2f} / {r['healthz_other_cores']:.2f} | {r['verify']} | {detail(r)} |")
    out.append("")
    out.append("Commands, one per figure (run from the repository root, with "
               "`PARLEY_BIN=target/release/parley`, and for the timers also "
               "`TIMER_BENCH_BIN=target/release/examples/timer_bench`, to skip the build):")
    out.append("")
    out.append("```sh")
    for b in meta["benchmarks"]:
        titles = [by_id[f]["title"] for f in b["ids"] if f in by_id] or b["ids"]
        out.append(f"# {'; '.join(titles)}")
        out.append(b["command"])
    out.append("```")
    out.append("")
    out.append("What each check verified:")
    out.append("")
    for r in results:
        out.append(f"- {r['title']}: {r['verify']}, {r['verify_detail']}.")
    out.append("")
    out.append(END)
    section = "\n".join(out)

    doc = open(doc_path).read()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        doc = head + section + tail
    else:
        first, _, rest = doc.partition("\n\n")
        second, _, rest = rest.partition("\n\n")
        doc = first + "\n\n" + second + "\n\n" + section + "\n\n" + rest
    open(doc_path, "w").write(doc)


if __name__ == "__main__":
    main()
