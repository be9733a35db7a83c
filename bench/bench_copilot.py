"""Copilot benchmark: offline end to end (question -> understanding -> metric service ->
answer text and chart spec) on the query benchmark's scale dataset, against the engine alone
on the same understood queries (the part no copilot can avoid).

    .venv/bin/python bench/bench_copilot.py --data-dir /tmp/metricx-bench   # reuses the data
                                                                             # bench_query built
Goal (issue 6): p50 <= 150 ms per question, offline.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_query, beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # metricx, from a checkout

import bench_query

QUESTIONS = [
    "What was my spend and ROAS last week?",
    "Compare CPC this week vs last week for top 3 ads",
    "store revenue and MER by day over the last 30 days",
    "top 10 campaigns by spend last month",
    "CTR by platform yesterday",
    "worst 5 ad sets by CPA in the last 14 days",
    "orders and new customers this month",
    "weekly spend over the last 90 days",
]


def timed(action, runs: int) -> list[float]:
    action()  # warm-up: caches, connections
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per question")
    parser.add_argument("--data-dir", type=Path, help="the query benchmark's --data-dir")
    parser.add_argument("--ads", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=200_000)
    args = parser.parse_args()
    server, url, scratch = bench_query.setup_database(args.data_dir)
    data_dir = Path(tempfile.mkdtemp(prefix="metricx-bench-copilot-"))
    try:
        bench_query.configure(url, data_dir)
        from datetime import timedelta

        from metricx.copilot.offline import OfflineUnderstander
        from metricx.copilot.service import ask
        from metricx.copilot.understanding import Conversation
        from metricx.semantic.engine import run_query

        spec = bench_query.Spec(args.ads, args.orders)
        dataset = bench_query.find_dataset(spec)
        if dataset is None:
            print("building the query benchmark's dataset first ...", flush=True)
            from metricx.semantic.dates import today_in

            end = today_in(bench_query.TZ) - timedelta(days=1)
            dataset = bench_query.build_dataset(spec, end)
        today = dataset.last + timedelta(days=1)
        offline = OfflineUnderstander()
        print(
            f"dataset: workspace {dataset.workspace_id}, days {dataset.first}..{dataset.last};"
            f" today = {today}; p50/p90 of {args.runs} runs after one warm-up\n"
        )
        print(f"{'question':<52}{'copilot p50':>12}{'p90':>8}{'engine p50':>12}{'status':>8}")
        medians = []
        for question in QUESTIONS:

            def whole(question: str = question):
                answer = ask(
                    dataset.workspace_id,
                    question,
                    Conversation(),
                    today=today,
                    understander=offline,
                )
                chart = answer.chart()
                return answer, chart.to_dict() if chart is not None else None

            answer, _ = whole()
            copilot = timed(whole, args.runs)
            engine = (
                timed(
                    lambda a=answer: run_query(dataset.workspace_id, a.understanding.query),
                    args.runs,
                )
                if answer.result is not None
                else [float("nan")]
            )
            p50 = statistics.median(copilot)
            medians.append(p50)
            p90 = sorted(copilot)[int(0.9 * len(copilot))]
            print(
                f"{question[:50]:<52}{p50:>10.1f}ms{p90:>6.1f}"
                f"{statistics.median(engine):>10.1f}ms{answer.status:>8}"
            )
        worst = max(medians)
        print(
            f"\nworst question p50: {worst:.1f} ms -> {'PASS' if worst <= 150 else 'MISS'} "
            "(goal <= 150 ms)"
        )
    finally:
        bench_query.teardown_database(server, scratch)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
