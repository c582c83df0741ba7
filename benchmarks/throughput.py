"""Throughput of the whole newsclean chain, beside datatrove's MinHash dedup,
with accuracy guards, in one command:

    .venv/bin/python benchmarks/throughput.py            # 20,000 and 200,000 articles
    .venv/bin/python benchmarks/throughput.py --sizes 20000 --skip-guards

For each size it builds a corpus from ``../shared/data/bbc-news-2225/`` (the
originals plus syndicated copies: made-up site furniture around the body, a
changed headline, a trimmed or extra closing paragraph, a few changed words,
sometimes mojibake) as jsonl part files in a temporary folder, runs the real
``newsclean run`` command on it and measures wall time and the peak RSS of
the whole process tree (the CLI, its worker processes and Prefect's temporary
server). On the same files, in the same run, it runs datatrove's MinHash
deduplication (default ``MinhashConfig``, its own four pipeline stages, as
many workers as cores) and prints newsclean's rate as a multiple of it.
At ``--server-sizes`` it runs the command once more against a running
Prefect server (``prefect server start``, as scheduled runs use), which
spares it the temporary server's start and stop.

Accuracy guards, same run: language identification on the
lingua-langid-testdata sentences of the languages langdetect knows (newsclean's
default path against plain langdetect on the same texts) and encoding repair
on the ftfy test cases (every case ftfy fixes is fixed by newsclean's path;
no negative case is changed).

Prints a table and writes ``benchmarks/results/throughput.json``.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSCLEAN_SHARED", ROOT.parent / "shared"))
BBC = SHARED / "data" / "bbc-news-2225" / "bbc_news.jsonl"
LANGID = SHARED / "data" / "lingua-langid-testdata"
FTFY_CASES = SHARED / "data" / "ftfy-test-cases"
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent

sys.path.insert(0, str(ROOT))

from pipelines.runtime import ApiServer  # noqa: E402


# --------------------------------------------------------------------------
# The corpus: BBC originals plus syndicated copies.
#
# The site furniture below is made up for this benchmark: header and footer
# lines of the kinds scraped news carries (share bars, newsletter prompts,
# copyright footers, photo credits, "more from" blocks), different per site.

SITES = {
    "northbay-herald": {
        "head": ["Share this article", "Northbay Herald | World edition"],
        "foot": ["Sign up for our morning briefing", "© 2005 Northbay Herald Media Group. All rights reserved."],
        "byline": "By Herald staff and wire reports",
    },
    "pacific-ledger": {
        "head": ["Advertisement"],
        "foot": ["More from Pacific Ledger:", "Five things to know before the markets open", "Weekend reads: the best of our long stories",
                 "Copyright 2005 Pacific Ledger Inc."],
        "byline": "From our correspondents",
    },
    "midland-courier": {
        "head": ["Midland Courier > News > Syndicated"],
        "foot": ["Have your say on this story in the comments below.", "Follow us on Twitter and Facebook",
                 "(c) 2005 Midland Courier"],
        "byline": "Courier wire desk",
    },
    "kestrel-times": {
        "head": ["Print", "Email"],
        "foot": ["Photo: agency file picture / Kestrel Times", "This story was first published by a partner outlet and is republished with permission.",
                 "© Kestrel Times 2005"],
        "byline": "Kestrel Times news team",
    },
    "harbourline-news": {
        "head": ["Harbourline News - independent since 1921"],
        "foot": ["Related stories", "Council sets out plans for new harbour bridge", "Local teams prepare for cup weekend",
                 "Subscribe to Harbourline News for unlimited access."],
        "byline": "Staff writer",
    },
    "ridgeway-post": {
        "head": ["Trending now"],
        "foot": ["We use cookies to improve your experience. Read our cookie policy.", "Ridgeway Post, 12 Mill Lane. All rights reserved."],
        "byline": "Ridgeway Post digital",
    },
}

# Replacements a copy editor makes when re-running a wire story.
SWAPS = [("said", "told reporters"), ("However", "But"), ("company", "firm"), ("government", "administration"),
         ("increase", "rise"), ("people", "residents"), ("expected", "forecast"), ("also", "additionally"),
         ("new", "fresh"), ("but", "although")]
EXTRA_CLOSERS = ["Further details are expected later this week.", "The story is developing and will be updated.",
                 "Additional reporting by our news desk."]


def _sloppy_cp1252(err: UnicodeDecodeError):
    # The five bytes cp1252 leaves undefined decode as the same code points,
    # as browsers and "sloppy" decoders do; that is the mojibake seen in scrapes.
    return err.object[err.start : err.start + 1].decode("latin-1"), err.start + 1


codecs.register_error("newsclean-sloppy", _sloppy_cp1252)


def mojibake(text: str) -> str:
    return text.encode("utf-8").decode("cp1252", errors="newsclean-sloppy")


def load_bbc() -> list[dict]:
    with open(BBC, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def syndicated_copy(orig: dict, site: str, rnd: random.Random, k: int) -> dict:
    furniture = SITES[site]
    paras = orig["text"].split("\n\n")
    title = orig["title"]
    if rnd.random() < 0.3:
        title = rnd.choice(["UPDATE: ", "Analysis: ", "", "Breaking: "]) + title
    if len(paras) > 4 and rnd.random() < 0.3:
        paras = paras[:-1]
    if rnd.random() < 0.3:
        paras = paras + [rnd.choice(EXTRA_CLOSERS)]
    # A few word-level edits, placed at random so copies differ from each other.
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(paras))
        old, new = rnd.choice(SWAPS)
        paras[i] = paras[i].replace(f" {old} ", f" {new} ", 1)
    body = "\n\n".join(furniture["head"] + [furniture["byline"]] + paras + furniture["foot"])
    if rnd.random() < 0.03:
        body = mojibake(body)
    return {
        "id": f"{site}/{orig['id']}/{k}",
        "title": title,
        "text": body,
        "url": f"https://{site}.example/{orig['id']}/{k}",
        "source": site,
        "published": f"2005-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
    }


def build_corpus(n: int, folder: Path, seed: int = 6, per_file: int = 5000) -> dict:
    """Write ``n`` articles as jsonl part files of ``per_file`` lines: the BBC
    originals first, then syndicated copies spread over the made-up sites.
    Streams: only the 2,225 originals are held in memory."""
    rnd = random.Random(seed)
    originals = load_bbc()
    sites = sorted(SITES)
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    nbytes = 0
    part = None
    for k in range(n):
        if k % per_file == 0:
            if part:
                part.close()
            part = open(folder / f"part-{k // per_file:04d}.jsonl", "w", encoding="utf-8")
        orig = originals[k % len(originals)]
        if k < len(originals):
            row = {"id": orig["id"], "title": orig["title"], "text": orig["text"], "source": "bbc"}
        else:
            row = syndicated_copy(orig, sites[rnd.randrange(len(sites))], rnd, k)
        line = json.dumps(row, ensure_ascii=False) + "\n"
        part.write(line)
        nbytes += len(line.encode("utf-8"))
        written += 1
    if part:
        part.close()
    return {"articles": written, "bytes": nbytes, "files": -(-n // per_file)}



# --------------------------------------------------------------------------
# Running a command and watching the memory of its whole process tree


def run_watched(cmd: list[str], env: dict | None = None, interval: float = 0.1) -> dict:
    """Run ``cmd``; return wall seconds, exit code and peak RSS (bytes) of the
    process tree (sum over the process and all its descendants), of the
    largest single process, and of the command's own process (and the
    second it was first reached, ``main_at``)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = {"tree": 0, "single": 0, "main": 0, "workers": 0, "main_at": 0.0}
    stop = threading.Event()

    def watch() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            try:
                kids = root.children(recursive=True)
                main = root.memory_info().rss
            except psutil.NoSuchProcess:
                break
            total, single, workers = main, main, 0
            for k in kids:
                try:
                    rss = k.memory_info().rss
                    parent = " ".join(k.parent().cmdline())
                except (psutil.NoSuchProcess, AttributeError):
                    continue
                total += rss
                single = max(single, rss)
                # Shard workers are the forkserver's children.
                if "forkserver" in parent:
                    workers = max(workers, rss)
            peaks["tree"] = max(peaks["tree"], total)
            peaks["single"] = max(peaks["single"], single)
            if main > peaks["main"]:  # and when: which step it was in
                peaks["main"], peaks["main_at"] = main, round(time.perf_counter() - t0, 1)
            peaks["workers"] = max(peaks["workers"], workers)
            stop.wait(interval)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    stop.set()
    watcher.join()
    return {"wall": time.perf_counter() - t0, "returncode": proc.returncode, "stdout": out, "stderr": err,
            "peak_rss": peaks}


# --------------------------------------------------------------------------
# newsclean and datatrove on the same files


def start_prefect_server(home: Path) -> ApiServer:
    """A Prefect server of its own (``prefect server start``, fresh database),
    as a scheduled deployment runs against, ready to use."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"})
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = ApiServer(proc, f"http://127.0.0.1:{port}/api")
    try:
        server.wait(timeout=300)  # a fresh database migrates first
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{exc}: {(home / 'server.log').read_text()[-2000:]}") from exc
    return server


def run_newsclean(corpus: Path, out: Path, api_url: str | None = None) -> dict:
    """``newsclean run`` as a user types it: with ``api_url`` against that
    Prefect server, else in Prefect's embedded mode (a temporary server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    res = run_watched([str(BIN / "newsclean"), "run", "--input", str(corpus), "--output", str(out)], env=env)
    if res["returncode"] != 0:
        raise RuntimeError(f"newsclean run failed:\n{res['stderr'][-3000:]}")
    record = json.loads(sorted((out / "runs").glob("*.json"))[-1].read_text())
    t = record["timings"]
    flow_wall = t["wall"] + t.get("report", 0.0)
    return {
        "process_wall": res["wall"],
        "flow_wall": flow_wall,
        "peak_rss": res["peak_rss"],
        "timings": t,
        "stage_seconds": record["stage_seconds"],
        "counts": record["counts"],
    }


def datatrove_child(corpus: str, work: str, workers: int) -> None:
    """datatrove's MinHash deduplication, its four stages as its README runs
    them (LocalPipelineExecutor, default MinhashConfig), over the part files."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.logging import logger

    logger.remove()
    w = Path(work)
    files = len(list(Path(corpus).glob("*.jsonl")))
    cfg = MinhashConfig()

    def reader():
        return JsonlReader(corpus, glob_pattern="*.jsonl", text_key="text", id_key="id")

    stages = [
        ([reader(), MinhashDedupSignature(output_folder=str(w / "signatures"), config=cfg)], files),
        ([MinhashDedupBuckets(input_folder=str(w / "signatures"), output_folder=str(w / "buckets"), config=cfg)], cfg.num_buckets),
        ([MinhashDedupCluster(input_folder=str(w / "buckets"), output_folder=str(w / "remove_ids"), config=cfg)], 1),
        ([reader(), MinhashDedupFilter(input_folder=str(w / "remove_ids")), JsonlWriter(str(w / "deduplicated"))], files),
    ]
    for i, (pipeline, tasks) in enumerate(stages):
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                              logging_dir=str(w / f"logs-{i}")).run()
    kept = sum(1 for f in (w / "deduplicated").glob("*") for _ in (
        __import__("gzip").open(f, "rt") if f.name.endswith(".gz") else open(f)))
    print(json.dumps({"kept": kept}))


def run_datatrove(corpus: Path, work: Path, workers: int) -> dict:
    res = run_watched([sys.executable, __file__, "--datatrove-child", str(corpus), str(work), str(workers)])
    if res["returncode"] != 0:
        raise RuntimeError(f"datatrove failed:\n{res['stderr'][-3000:]}")
    return {"wall": res["wall"], "peak_rss": res["peak_rss"], **json.loads(res["stdout"].strip().splitlines()[-1])}


# --------------------------------------------------------------------------
# Accuracy guards

# lingua names Norwegian Bokmål "nb", langdetect "no"; langdetect splits
# Chinese into zh-cn / zh-tw.
_LINGUA_TO_LANGDETECT = {"nb": ("no",), "zh": ("zh-cn", "zh-tw")}


def _lang_job(args: tuple[str, list[str]]) -> tuple[str, int, int, int, int]:
    from cleaners.language import detect_language

    lang, sentences = args
    ok = _LINGUA_TO_LANGDETECT.get(lang, (lang,))
    fast = plain = deferred = 0
    from cleaners.language import DEFAULT_FAST_MIN_PROB, fast_guess, prefix

    for s in sentences:
        fast += detect_language(s) [0] in ok
        plain += detect_language(s, fast_min_prob=None)[0] in ok
        lang_f, p = fast_guess(prefix(s))
        deferred += p < DEFAULT_FAST_MIN_PROB or lang_f == "zh"
    return lang, len(sentences), fast, plain, deferred


def language_guard(workers: int, per_language: int | None) -> dict:
    """Sentence accuracy of the default path (fast guess, langdetect when
    unsure) and of plain langdetect, over the lingua test sentences of every
    language langdetect has a profile for."""
    from concurrent.futures import ProcessPoolExecutor

    from cleaners.language import LANGDETECT_LANGUAGES

    wanted = set(LANGDETECT_LANGUAGES) | {"nb"}
    jobs = []
    for d in sorted(p for p in LANGID.iterdir() if p.is_dir()):
        if d.name not in wanted or not (d / "sentences.txt").exists():
            continue
        sents = [s.strip() for s in (d / "sentences.txt").read_text(encoding="utf-8").splitlines() if s.strip()]
        jobs.append((d.name, sents[:per_language] if per_language else sents))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(_lang_job, jobs))
    n = sum(r[1] for r in rows)
    worse = {r[0]: {"default": round(r[2] / r[1], 4), "langdetect": round(r[3] / r[1], 4)} for r in rows if r[2] < r[3]}
    return {
        "languages": len(rows),
        "sentences": n,
        "default_accuracy": round(sum(r[2] for r in rows) / n, 4),
        "langdetect_accuracy": round(sum(r[3] for r in rows) / n, 4),
        "deferred_to_langdetect": round(sum(r[4] for r in rows) / n, 4),
        "languages_where_default_is_worse": worse,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def repair_guard() -> dict:
    """ftfy's test cases through newsclean's repair path (the cheap check,
    then ftfy with newsclean's configuration).

    A case counts as fixed when newsclean's output equals ftfy's expected
    text up to the two display-only fixes newsclean leaves off on purpose
    (straight quotes, full-width forms); a negative case counts as unchanged
    when newsclean's output is the original wherever ftfy's expected text is
    (up to the same two fixes)."""
    import ftfy
    from ftfy import fixes

    from cleaners.repair import FTFY_CONFIG, fix_mojibake, looks_like_mojibake

    def display(t: str) -> str:
        return fixes.fix_character_width(fixes.uncurl_quotes(t))

    out = {}
    for name in ("in-the-wild", "synthetic", "negative"):
        cases = json.loads((FTFY_CASES / f"{name}.json").read_text(encoding="utf-8"))
        ftfy_fixes = ours = exact = missed_by_check = changed = 0
        failures = []
        for c in cases:
            orig, want = c["original"], c["fixed"]
            got, _ = fix_mojibake(orig)
            if ftfy.fix_text(orig, FTFY_CONFIG) != orig and not looks_like_mojibake(orig):
                missed_by_check += 1
            if name == "negative":
                if display(want) == display(orig):
                    changed += got != orig
                    if got != orig:
                        failures.append(c["label"])
                else:  # "mostly negative": only part of it is to be fixed
                    ours += display(got) == display(want)
                continue
            if ftfy.fix_text(orig) == want:
                ftfy_fixes += 1
                ours += display(got) == display(want)
                exact += got == want
                if display(got) != display(want):
                    failures.append(c["label"])
        out[name] = {"cases": len(cases), "missed_by_cheap_check": missed_by_check, "failures": failures}
        if name == "negative":
            out[name].update({"changed": changed, "partly_fixed_ok": ours})
        else:
            out[name].update({"ftfy_fixes": ftfy_fixes, "newsclean_fixes": ours, "newsclean_exact": exact})
    return out


# --------------------------------------------------------------------------
# The benchmark


def _fmt_mb(b: int) -> str:
    return f"{b / 2**20:,.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20000,200000", help="corpus sizes (articles), comma-separated")
    ap.add_argument("--datatrove-sizes", default="20000",
                    help="sizes at which datatrove also runs (its rate is ~200 articles/s here: 200,000 takes ~17 min)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="datatrove workers (newsclean uses its config)")
    ap.add_argument("--skip-guards", action="store_true")
    ap.add_argument("--sentences-per-language", type=int, default=0, help="0 = all (~1,000)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--server-sizes", default="20000",
                    help="sizes at which newsclean also runs against a running Prefect server (as a scheduled deployment does)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    dt_sizes = {int(x) for x in args.datatrove_sizes.split(",") if x}
    srv_sizes = {int(x) for x in args.server_sizes.split(",") if x}
    if not BBC.exists():
        sys.exit(f"{BBC} is missing: the benchmark reads ../shared in place")

    tmp = Path(tempfile.mkdtemp(prefix="newsclean-throughput-"))
    results: dict = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()}, "sizes": {}}
    server = None
    try:
        for n in sizes:
            corpus = tmp / f"corpus-{n}"
            info = build_corpus(n, corpus)
            print(f"[{n:,}] corpus: {info['articles']:,} articles, {_fmt_mb(info['bytes'])} in {info['files']} files", flush=True)
            nc = run_newsclean(corpus, tmp / f"out-{n}")
            row = {"corpus": info, "newsclean": nc,
                   "articles_per_s": n / nc["flow_wall"], "mb_per_s": info["bytes"] / 2**20 / nc["flow_wall"],
                   "articles_per_s_process": n / nc["process_wall"]}
            print(f"[{n:,}] newsclean: {row['articles_per_s']:,.0f} articles/s in the flow, "
                  f"{row['articles_per_s_process']:,.0f} with Prefect's start-up; peak RSS {_fmt_mb(nc['peak_rss']['tree'])}", flush=True)
            shutil.rmtree(tmp / f"out-{n}", ignore_errors=True)
            if n in srv_sizes:
                if server is None:
                    server = start_prefect_server(tmp / "prefect-server")
                ns = run_newsclean(corpus, tmp / f"out-{n}-server", api_url=server.url)
                row["with_server"] = ns
                row["articles_per_s_with_server"] = n / ns["process_wall"]
                print(f"[{n:,}] newsclean against a running Prefect server: {row['articles_per_s_with_server']:,.0f} articles/s "
                      f"for the whole command", flush=True)
                shutil.rmtree(tmp / f"out-{n}-server", ignore_errors=True)
            if n in dt_sizes:
                dt = run_datatrove(corpus, tmp / f"datatrove-{n}", args.workers)
                row["datatrove"] = dt
                row["datatrove_articles_per_s"] = n / dt["wall"]
                row["ratio_vs_datatrove"] = row["articles_per_s"] / row["datatrove_articles_per_s"]
                print(f"[{n:,}] datatrove dedup only: {row['datatrove_articles_per_s']:,.0f} articles/s ({args.workers} workers)", flush=True)
                shutil.rmtree(tmp / f"datatrove-{n}", ignore_errors=True)
            shutil.rmtree(corpus, ignore_errors=True)
            results["sizes"][str(n)] = row
        if not args.skip_guards:
            results["language"] = language_guard(args.workers, args.sentences_per_language or None)
            results["repair"] = repair_guard()
    finally:
        if server is not None:
            server.stop(timeout=20)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    results["machine"]["load_after"] = os.getloadavg()
    print_table(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "throughput.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwrote {RESULTS / 'throughput.json'}")


def print_table(r: dict) -> None:
    print("\nThroughput (2 cores; flow wall = Prefect flow start to report written; process = the whole `newsclean run` "
          "in Prefect's embedded mode; +server = the whole command against a running Prefect server)")
    print(f"{'articles':>9} {'MB':>6} {'art/s flow':>10} {'MB/s':>6} {'art/s proc':>10} {'datatrove art/s':>15} {'ratio':>6} "
          f"{'ratio proc':>10} {'art/s +server':>13} {'ratio':>6} {'peak RSS tree':>13} {'main':>7} {'worker':>7}")
    base = None
    for n, row in r["sizes"].items():
        nc = row["newsclean"]
        dt = f"{row['datatrove_articles_per_s']:,.0f}" if "datatrove" in row else "-"
        ratio = f"{row['ratio_vs_datatrove']:.1f}x" if "datatrove" in row else "-"
        ratio_proc = f"{row['articles_per_s_process'] / row['datatrove_articles_per_s']:.1f}x" if "datatrove" in row else "-"
        srv = f"{row['articles_per_s_with_server']:,.0f}" if "with_server" in row else "-"
        ratio_srv = (f"{row['articles_per_s_with_server'] / row['datatrove_articles_per_s']:.1f}x"
                     if "with_server" in row and "datatrove" in row else "-")
        pk = nc["peak_rss"]
        print(f"{int(n):>9,} {row['corpus']['bytes'] / 2**20:>6,.0f} {row['articles_per_s']:>10,.0f} {row['mb_per_s']:>6.1f} "
              f"{row['articles_per_s_process']:>10,.0f} {dt:>15} {ratio:>6} {ratio_proc:>10} {srv:>13} {ratio_srv:>6} {_fmt_mb(pk['tree']):>13} "
              f"{pk['main'] / 2**20:>6,.0f}M {pk['workers'] / 2**20:>6,.0f}M")
        base = base or row["articles_per_s"]
    if len(r["sizes"]) > 1:
        last = list(r["sizes"].values())[-1]["articles_per_s"]
        print(f"largest size's rate vs smallest: {last / base:.2f}")
    for n, row in r["sizes"].items():
        nc = row["newsclean"]
        stages = nc["stage_seconds"]
        tot = sum(stages.values()) or 1.0
        print(f"\n[{int(n):,}] worker stage shares: " + ", ".join(f"{k} {v / tot:.0%}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])))
        t = nc["timings"]
        print(f"[{int(n):,}] flow steps (wall s): " + ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "wall")
              + f"; flow {nc['flow_wall']:.1f}, process {nc['process_wall']:.1f}")
    if "language" in r:
        g = r["language"]
        print(f"\nLanguage, lingua sentences ({g['sentences']:,} in {g['languages']} languages langdetect knows): "
              f"default path {g['default_accuracy']:.4f}, plain langdetect {g['langdetect_accuracy']:.4f}; "
              f"{g['deferred_to_langdetect']:.1%} deferred to langdetect; languages where default is worse: {g['languages_where_default_is_worse'] or 'none'}")
    if "repair" in r:
        for name, g in r["repair"].items():
            if name == "negative":
                print(f"Repair, ftfy {name}: {g['cases']} cases, {g['changed']} changed by newsclean "
                      f"(mostly-negative cases fixed as expected: {g['partly_fixed_ok']}); cheap check missed {g['missed_by_cheap_check']}")
            else:
                print(f"Repair, ftfy {name}: {g['cases']} cases, ftfy fixes {g['ftfy_fixes']}, newsclean fixes {g['newsclean_fixes']} "
                      f"({g['newsclean_exact']} byte-exact; the rest differ only in curly quotes kept); cheap check missed {g['missed_by_cheap_check']}"
                      + (f"; failures: {g['failures']}" if g["failures"] else ""))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--datatrove-child":
        datatrove_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--corpus-only":
        print(build_corpus(int(sys.argv[2]), Path(sys.argv[3])))
    else:
        main()
