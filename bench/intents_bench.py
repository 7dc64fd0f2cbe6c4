"""The daily intent tags against a non-LLM baseline on real next-day behaviour, and their cost with the embedded
model, over a range of dates: per date, the users active that day and the next are tagged by the full agent chain
(planner -> experts -> arbiter -> judge) on the embedded llama.cpp server, then scored (`intents.evaluation`):
hit rate, coverage, tag-channel recall and, given a GR model trained before the range (time split), the recall the
tag channel adds on top of GR's top-K (exclusive recall). The baseline (the user's most frequent categories of the
day, as many as the tags name) is scored on the same users in the same run.

    python -m bench.intents_bench --dataset movielens --from 1998-03-01 --to 1998-04-22 --model models/<dir>
    python -m bench.intents_bench --dataset taobao-head --from 2017-11-25 --to 2017-12-02
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date, timedelta
from pathlib import Path

from pydantic import SecretStr

from infra.cli.intents import gr_retriever
from infra.config import EmbeddedLLMSettings, load_settings
from infra.stack.llm import MODEL_VERSION, LocalLLMServer
from infra.stack.process import free_port
from intents.batch import tag_user
from intents.catalog import coded_catalog, movie_catalog
from intents.config import IntentConfig
from intents.context import build_contexts, day_bounds, events_between
from intents.evaluation import METRICS, score_day, summarize
from intents.llm import LLMClient
from sources.datasets import load
from sources.movielens import ARCHIVE, GENRES, read_movielens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["movielens", "taobao-head"], default="movielens")
    parser.add_argument("--from", dest="first", required=True)
    parser.add_argument("--to", dest="last", required=True)
    parser.add_argument("--model", type=Path, default=None, help="GR model directory (time split before --from)")
    parser.add_argument("--channel-size", type=int, default=20)
    parser.add_argument("--llm-threads", type=int, default=None, help="the embedded server's threads (default: every core)")
    args = parser.parse_args()
    settings = load_settings()
    if args.dataset == "movielens":
        data = read_movielens(settings.archives_dir / ARCHIVE)
        events, catalog = data.events, movie_catalog(data.movies, GENRES)
    else:
        events = load(args.dataset, settings.datasets_dir).table  # type: ignore[attr-defined]
        catalog = coded_catalog(events)
    config = IntentConfig()
    retrieve = gr_retriever(args.model, args.channel_size, settings.serving.intent_items) if args.model else None
    llm = EmbeddedLLMSettings(port=free_port(), threads=args.llm_threads)
    with tempfile.TemporaryDirectory() as state:
        server = LocalLLMServer(llm, Path(state), settings.cache_dir)
        server.start()
        try:
            local = {"structured_output": "json_object", "model": MODEL_VERSION, "api_key": SecretStr(server.api_key())}
            client = LLMClient(config.llm.model_copy(update=local), llm.base_url)
            scores, tagged, failed, seconds = [], 0, 0, 0.0
            day = date.fromisoformat(args.first)
            while day <= date.fromisoformat(args.last):
                iso = day.isoformat()
                start, end = day_bounds(iso)
                returning = set(events_between(events, end, end + (end - start))["user_id"].to_pylist())
                categories = {}
                for ctx in build_contexts(events, catalog, iso, config.max_events):
                    if ctx.user_id in returning:
                        result = tag_user(client, ctx, catalog, config)
                        tagged, failed, seconds = tagged + 1, failed + bool(result.failure), seconds + result.seconds
                        categories[ctx.user_id] = result.tag_categories
                scores += score_day(events, catalog, iso, categories, args.channel_size, retrieve)
                day += timedelta(days=1)
        finally:
            server.stop()
    summary = summarize(scores)
    usage = client.usage
    print(f"{args.dataset} {args.first}..{args.last}: {tagged} users tagged ({failed} failed), {summary.users} scored")
    print(f"throughput: {tagged / (seconds / 60):.1f} users/min with {MODEL_VERSION} "
          f"({usage.calls / tagged:.1f} LLM calls/user, {usage.prompt_tokens / tagged:.0f} prompt + "
          f"{usage.completion_tokens / tagged:.0f} completion tokens/user, {usage.failed_attempts} invalid answers retried)")
    print(f"| | {' | '.join(m.replace('_', ' ') for m in METRICS)} |")
    print(f"|---|{'---:|' * len(METRICS)}")
    for name, values in (("LLM tags", summary.tags), ("baseline: most frequent categories", summary.baseline)):
        print(f"| {name} | {' | '.join(f'{values[m]:.3f}' for m in METRICS)} |")
    if retrieve:
        print(f"served recall@{args.channel_size} (time split): {summary.gr_recall:.3f} without the intent channel, "
              f"{summary.served_recall:.3f} with it ({settings.serving.intent_items} slots)")


if __name__ == "__main__":
    main()
