from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sources.datasets import AMAZON_T0_MS, DAY_MS, DatasetError, SyntheticSource, load, select, utc_ms


def test_taobao_head_matches_the_csv(datasets_dir: Path) -> None:
    table = load("taobao-head", datasets_dir).table  # type: ignore[attr-defined]
    with open(datasets_dir / "taobao/UserBehavior_head4321_fattydelivery.csv") as f:
        rows = list(csv.reader(f))
    assert table.num_rows == len(rows) == 4321
    times = table["event_time"].to_numpy()
    assert (np.diff(times) >= 0).all()
    # Sorting by time keeps every user's own file order (stable on ties).
    by_id = {r["event_id"]: r for r in table.to_pylist()}
    for row_number, (user, item, category, behavior, ts) in enumerate(rows):
        event = by_id[f"taobao-head-{row_number}"]
        assert (event["user_id"], event["item_id"], event["category_id"]) == (int(user), int(item), int(category))
        assert (event["behavior"], event["event_time"]) == (behavior.upper(), int(ts) * 1000)
    row_of = {f"taobao-head-{i}": i for i in range(len(rows))}
    ids = table["event_id"].to_pylist()
    assert ids == sorted(ids, key=lambda e: (by_id[e]["event_time"], row_of[e]))  # stable: ties keep file order


def test_beauty_time_rule_and_size(datasets_dir: Path) -> None:
    table = load("beauty", datasets_dir).table  # type: ignore[attr-defined]
    assert table.num_rows == 198_502
    assert table["user_id"].to_pylist()[:1] == [1]
    user2 = table.filter(pa.compute.equal(table["user_id"], 2)).to_pylist()
    assert [e["item_id"] for e in user2] == [6, 7, 8, 9, 10, 4, 11]  # line 2 of Beauty.txt, in order
    assert [e["event_time"] for e in user2] == [AMAZON_T0_MS + k * DAY_MS + 2000 for k in range(7)]
    assert set(table["behavior"].to_pylist()) == {"BUY"}
    first = len((datasets_dir / "amazon/Beauty.txt").read_text().splitlines()[0].split()) - 1
    assert [e["event_id"] for e in user2] == [f"beauty-{first + k}" for k in range(7)]  # <dataset>-<row in the file>


def write_category(folder: Path, name: str, lines: list[str], attributes: dict[int, list[int]] | None) -> None:
    (folder / "amazon").mkdir(parents=True, exist_ok=True)
    (folder / "amazon" / f"{name}.txt").write_text("".join(f"{line}\n" for line in lines))
    if attributes is not None:
        (folder / "amazon" / f"{name}_item2attributes.json").write_text(json.dumps(attributes))


def test_any_amazon_category_by_name(tmp_path: Path) -> None:
    write_category(tmp_path, "Toys_and_Games", ["1 3 1 2", "", "2 2 4"], {1: [7, 8], 2: [], 3: [9]})
    (tmp_path / "amazon" / "LICENSE_ICLRec.txt").write_text("BSD\n")
    source = load("amazon:toys_and_games", tmp_path)  # the name matched without case
    assert source.name == "amazon:Toys_and_Games"
    events = source.table.to_pylist()  # type: ignore[attr-defined]
    assert [(e["user_id"], e["item_id"], e["category_id"]) for e in events] == [
        (1, 3, 9), (2, 2, 0), (1, 1, 7), (2, 4, 0), (1, 2, 0)]  # fmt: skip
    by_item = {(e["user_id"], e["item_id"]): e for e in events}
    assert by_item[(2, 4)]["event_time"] == AMAZON_T0_MS + DAY_MS + 2000  # the same time rule as Beauty
    assert by_item[(1, 3)]["event_id"] == "amazon:Toys_and_Games-0"
    write_category(tmp_path, "Sports", ["5 1 2"], None)  # no attributes file: categories 0
    assert load("amazon:Sports", tmp_path).table["category_id"].to_pylist() == [0, 0]  # type: ignore[attr-defined]
    with pytest.raises(DatasetError, match=r"categories there: amazon:Sports, amazon:Toys_and_Games\)"):
        load("amazon:Books", tmp_path)
    with pytest.raises(DatasetError, match="or amazon:<Category>"):
        load("amazon", tmp_path)


def test_a_malformed_amazon_category_names_its_line(tmp_path: Path) -> None:
    write_category(tmp_path, "Bad", ["1 2 3", "2 x 4"], None)
    with pytest.raises(DatasetError, match=r"Bad.txt:2: expected 'user item item ...'"):
        load("amazon:Bad", tmp_path)
    write_category(tmp_path, "Zero", ["1 0 3"], None)
    with pytest.raises(DatasetError, match=r"Zero.txt:1: .* >= 1"):
        load("amazon:Zero", tmp_path)
    write_category(tmp_path, "Attrs", ["1 2 3"], None)
    (tmp_path / "amazon" / "Attrs_item2attributes.json").write_text("[1, 2]")
    with pytest.raises(DatasetError, match="item id -> list of attribute ids"):
        load("amazon:Attrs", tmp_path)


def test_synthetic_is_deterministic_whatever_the_batch_size() -> None:
    source = SyntheticSource(num_events=25_000, seed=3, num_users=500, num_items=2_000)
    a = pa.concat_tables(source.batches(7_000))
    b = pa.concat_tables(source.batches(25_000))
    assert a.equals(b) and a.num_rows == 25_000
    assert len(set(a["event_id"].to_pylist())) == 25_000
    assert (np.diff(a["event_time"].to_numpy()) >= 0).all()
    counts = np.bincount(a["item_id"].to_numpy())
    assert counts.max() > 20 * np.median(counts[counts > 0])  # Zipf: a heavy head


def test_unknown_and_missing_datasets(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset"):
        load("netflix", tmp_path)
    with pytest.raises(DatasetError, match="freshrec datasets fetch movielens"):
        load("movielens", tmp_path, archives_dir=tmp_path)
    with pytest.raises(DatasetError, match="FRESHREC_DATASETS_DIR"):
        load("taobao-2h", tmp_path)


def test_malformed_csv_is_a_dataset_error(tmp_path: Path) -> None:
    (tmp_path / "taobao").mkdir()
    (tmp_path / "taobao/UserBehavior_head4321_fattydelivery.csv").write_text("1,2,3,like,1511544070\n")
    with pytest.raises(DatasetError, match="unknown behaviour"):
        load("taobao-head", tmp_path)


def test_select_keeps_a_window_of_a_recorded_history_with_its_ids(datasets_dir: Path) -> None:
    source = load("taobao-head", datasets_dir)
    table = source.table  # type: ignore[attr-defined]
    cut = utc_ms("2017-11-30")
    user = table["user_id"][0].as_py()
    before, since = select(source, before_ms=cut), select(source, since_ms=cut)
    assert before.num_events + since.num_events == source.num_events and before.num_events and since.num_events
    assert max(before.table["event_time"].to_pylist()) < cut <= min(since.table["event_time"].to_pylist())
    mine = select(source, since_ms=cut, before_ms=cut + DAY_MS, users=[user]).table
    assert set(mine["user_id"].to_pylist()) <= {user}
    assert set(mine["event_id"].to_pylist()) <= set(table["event_id"].to_pylist())
    with pytest.raises(DatasetError, match="generated"):
        select(load("synthetic", datasets_dir, num_events=10), before_ms=cut)
    with pytest.raises(DatasetError, match="not a date"):
        utc_ms("30/11/2017")
    assert utc_ms("1970-01-02") == DAY_MS
