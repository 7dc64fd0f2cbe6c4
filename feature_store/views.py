"""What each feature view holds: one spec that the Feast definitions, the Redis codec and the validators all read.

Keeping the spec here (not in the Feast repo folder) lets the hot-path codec import it without importing Feast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

SEQUENCE_LENGTH = 50
"""Last N events kept per user."""
INTEREST_SLOTS = 4
INTEREST_DIM = 16
"""Multi-interest vector: K slots x d dims, flattened; its size never grows with history."""
SID_LEVELS = 4
"""Semantic id = 3 codebook levels + 1 collision token."""
BEHAVIOR_CODES = {"PV": 0, "CART": 1, "FAV": 2, "BUY": 3}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    dtype: str
    """One of: int64, int32, float32, string, bytes, int64[], int32[], float32[], string[]."""
    max_len: int | None = None
    exact_len: int | None = None
    same_len_as: str | None = None
    multiple_of: int | None = None
    doc: str = ""

    @property
    def is_list(self) -> bool:
        return self.dtype.endswith("[]")


@dataclass(frozen=True)
class ViewSpec:
    name: str
    entity: str
    join_key: str
    fields: tuple[FieldSpec, ...]
    ttl: timedelta
    doc: str

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


USER_REALTIME = ViewSpec(
    name="user_realtime",
    entity="user",
    join_key="user_id",
    ttl=timedelta(days=7),
    doc="Per-user behaviour state written by the streaming job: last-N events, counts, hybrid representation.",
    fields=(
        FieldSpec("item_ids", "int64[]", max_len=SEQUENCE_LENGTH, doc="last N items, oldest first"),
        FieldSpec("category_ids", "int64[]", same_len_as="item_ids"),
        FieldSpec("behaviors", "int32[]", same_len_as="item_ids", doc="0=PV 1=CART 2=FAV 3=BUY"),
        FieldSpec("event_times", "int64[]", same_len_as="item_ids", doc="epoch milliseconds"),
        FieldSpec("count_pv", "int64", doc="all-time count of this behaviour"),
        FieldSpec("count_cart", "int64"),
        FieldSpec("count_fav", "int64"),
        FieldSpec("count_buy", "int64"),
        FieldSpec("sid_codes", "bytes", max_len=SEQUENCE_LENGTH * SID_LEVELS, multiple_of=SID_LEVELS,
                  doc="hybrid: semantic-id codes of the recent items, 4 uint8 codes per item, oldest first"),
        FieldSpec("sid_version", "string", max_len=64,
                  doc="the version of the item table `sid_codes` were looked up in; empty: none"),
        FieldSpec("interest", "float32[]", exact_len=INTEREST_SLOTS * INTEREST_DIM,
                  doc="hybrid: fixed-size multi-interest vector, K slots x d, flattened"),
        FieldSpec("top_categories", "int64[]", max_len=8, doc="hybrid: most engaged recent categories"),
        FieldSpec("summary", "string", max_len=256, doc="hybrid: short text of behaviours and time buckets"),
        FieldSpec("version", "int64", doc="millisecond-monotonic snapshot version"),
    ),  # fmt: skip
)

USER_INTENT = ViewSpec(
    name="user_intent",
    entity="user",
    join_key="user_id",
    ttl=timedelta(days=2),
    doc="Daily LLM intent tags, graded by the judge.",
    fields=(
        FieldSpec("tags", "string[]", max_len=64),
        FieldSpec("tag_scores", "float32[]", same_len_as="tags"),
        FieldSpec("tag_categories", "int64[]", same_len_as="tags",
                  doc="the catalogue category each tag names (tag → category): serving's intent channel"),
        FieldSpec("grade", "string", max_len=1, doc="S, A or B"),
        FieldSpec("model_version", "string", max_len=128),
        FieldSpec("prompt_version", "string", max_len=128),
        FieldSpec("intent_date", "string", max_len=10, doc="YYYY-MM-DD"),
    ),
)

ITEM = ViewSpec(
    name="item",
    entity="item",
    join_key="item_id",
    ttl=timedelta(days=3650),
    doc="The item catalogue (`freshrec items load`): what training reads besides the event log. Model-specific "
        "item data (semantic ids) lives in each model directory's item table.",
    fields=(
        FieldSpec("category_id", "int64", doc="the item's category (-1: none), as in click events"),
        FieldSpec("attribute_ids", "int64[]", max_len=64, doc="attribute ids (MovieLens: genres; Taobao: category)"),
        FieldSpec("title", "string", max_len=512, doc="a short description a text encoder reads; empty: none"),
    ),
)

VIEWS = {v.name: v for v in (USER_REALTIME, USER_INTENT, ITEM)}
