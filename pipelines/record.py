"""The run record (``runs/<run_id>.json``, and ``run.json`` in the
generation it describes) and its view in the Prefect UI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from .tasks import logger

def prefect_context() -> dict[str, Any]:
    """Which Prefect run wrote the record, to find it in the UI (deployment
    and scheduled time are None for a run started by hand)."""
    from prefect.runtime import deployment, flow_run

    scheduled = flow_run.scheduled_start_time
    return {
        "flow_run_id": flow_run.id,
        "flow_run_name": flow_run.name,
        "deployment": deployment.name,
        "scheduled_start": scheduled.isoformat() if scheduled and deployment.name else None,
    }


def publish_artifacts(record: dict) -> None:
    """Show the run's numbers in the Prefect UI next to the run: a table of
    counts per stage and reason, and a markdown summary that names what needs
    a look (quarantined input, sources whose boilerplate share jumped)."""
    c = record["counts"]
    # Counts (records of older versions held the id lists).
    added = {k: v if isinstance(v, int) else len(v) for k, v in (record.get("added") or {}).items()}
    rows = [{"stage": "read", "reason": k, "count": c[k]} for k in ("documents", "new", "updated", "unchanged", "quarantined")]
    rows.append({"stage": "clean", "reason": "cleaned", "count": c["cleaned"]})
    rows += [{"stage": "gates", "reason": r, "count": n} for r, n in c["dropped"].items()]
    rows.append({"stage": "gates", "reason": "passed", "count": c["passed_gates"]})
    rows += [{"stage": "boilerplate", "reason": r, "count": n} for r, n in record["edits"].items()]
    rows += [{"stage": "dedup", "reason": "duplicates added", "count": added.get("duplicates", 0)},
             {"stage": "dedup", "reason": "clusters in corpus", "count": c["clusters"]},
             {"stage": "corpus", "reason": "kept", "count": c["corpus_kept"]},
             {"stage": "corpus", "reason": "kept, added by this run", "count": added.get("kept", 0)},
             {"stage": "corpus", "reason": "dropped", "count": c["corpus_dropped"]}]
    before, removed = sum(record["words_before"].values()), sum(record["words_removed"].values())
    shares = sorted(((n / record["words_before"][s], s) for s, n in record["words_removed"].items()
                     if record["words_before"].get(s)), reverse=True)
    try:
        jumps = json.loads((Path(record["output"]) / "report.json").read_text())["trends"]["jumps"]
    except (OSError, ValueError, KeyError):
        jumps = []
    md = [
        f"# newsclean run {record['run_id']}",
        "",
        f"* input `{record['input']}` → output `{record['output']}` (config `{record['config_hash']}`)",
        f"* documents read: **{c['documents']}**: {c['new']} new, {c['updated']} updated, "
        f"{c['unchanged']} already processed, {c['quarantined']} quarantined",
        f"* passed the language and length gates: **{c['passed_gates']}** of {c['cleaned']} cleaned; "
        f"dropped: {', '.join(f'{r} {n}' for r, n in c['dropped'].items()) or 'none'}",
        f"* boilerplate: {removed} of {before} words removed ({removed / before:.1%})" if before else "* boilerplate: nothing new to clean",
        f"* corpus now: **{c['corpus_kept']}** articles ({added.get('kept', 0)} added by this run), "
        f"{c['corpus_dropped']} dropped, {c['duplicates']} duplicates in {c['clusters']} clusters",
        f"* wall time: {record['timings']['wall']} s; report: `{Path(record['output']) / 'report.html'}`",
    ]
    if shares:
        md += ["", "| source | boilerplate share |", "|---|---|"] + [f"| {s} | {v:.1%} |" for v, s in shares[:10]]
    if jumps or c["quarantined"]:
        md += ["", "## Needs a look", ""]
        md += [f"* **{j['source']}**: boilerplate share {j['share']:.1%}, up {j['change_points']} points on earlier runs" for j in jumps]
        if c["quarantined"]:
            md.append(f"* {c['quarantined']} input document(s) quarantined (see `dropped.jsonl`, reason `quarantined`)")
    try:
        create_table_artifact(table=rows, key="newsclean-counts", description="Counts per stage and reason")
        create_markdown_artifact(markdown="\n".join(md) + "\n", key="newsclean-summary", description="newsclean run summary")
    except Exception as exc:  # artifacts are a view; a run never fails on them
        logger().warning("could not publish Prefect artifacts: %s", exc)
