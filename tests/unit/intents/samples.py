"""A tiny movie catalogue and day of events, written out by hand so every expected value can be checked by eye."""

from __future__ import annotations

import pyarrow as pa

from intents.catalog import MOVIE_MODIFIERS, Catalog

DAY = "1997-11-13"
T0 = 879_379_200_000  # 1997-11-13T00:00:00Z
HOUR = 3_600_000
GENRES = {1: "Action", 8: "Drama", 14: "Romance", 15: "Sci-Fi"}
CATALOG = Catalog(
    "movies", GENRES,
    {10: "Star Wars", 11: "Casablanca", 12: "Titanic", 13: "Alien", 14: "Heat"},
    {10: "Star Wars (1977), genres Action, Sci-Fi", 11: "Casablanca (1942), genres Drama, Romance",
     12: "Titanic (1997), genres Drama, Romance", 13: "Alien (1979), genres Action, Sci-Fi", 14: "Heat (1995), genres Action"},
    {10: (1, 15), 11: (8, 14), 12: (8, 14), 13: (1, 15), 14: (1,)},
    MOVIE_MODIFIERS,
)  # fmt: skip


def events(rows: list[tuple[int, int, str, int]]) -> pa.Table:
    """(user, item, behaviour, epoch ms) rows as ClickEvent columns (category = the item's first genre)."""
    return pa.table({
        "event_id": [f"e{i}" for i in range(len(rows))],
        "user_id": pa.array([r[0] for r in rows], pa.int64()),
        "item_id": pa.array([r[1] for r in rows], pa.int64()),
        "category_id": pa.array([CATALOG.item_categories[r[1]][0] for r in rows], pa.int64()),
        "behavior": [r[2] for r in rows],
        "event_time": pa.array([r[3] for r in rows], pa.int64()),
    })  # fmt: skip


DAY_EVENTS = events([
    (7, 11, "FAV", T0 + 20 * HOUR),       # evening loved Casablanca
    (7, 12, "FAV", T0 + 21 * HOUR),       # evening loved Titanic
    (7, 10, "PV", T0 + 9 * HOUR),         # morning watched Star Wars
    (7, 10, "PV", T0 + 9 * HOUR + 1),     # the same again: named once
    (8, 13, "FAV", T0 + 2 * HOUR),        # night loved Alien
    (7, 14, "PV", T0 - 1),                # the day before: not in the context
    (8, 10, "PV", T0 + 24 * HOUR),        # the next day: not in the context
])  # fmt: skip
