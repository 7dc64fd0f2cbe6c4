"""What a context may say about items and categories: short names (the hybrid entity references), full texts, and
the tag vocabulary (modifiers) of a domain. Built from MovieLens' titles and genres, or, for anonymised data such as
Taobao, from the ids alone (short codes: the only honest names there are)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

MOVIE_MODIFIERS = (
    "classic", "recent", "acclaimed", "cult", "feel-good", "dark", "romantic", "family", "light", "epic", "quirky",
    "suspenseful", "thoughtful", "action-packed", "award-winning", "offbeat", "heartwarming", "gritty", "witty", "indie",
)  # fmt: skip
SHOPPING_MODIFIERS = (
    "favourite", "repeat", "newly found", "wishlisted", "bought", "carted", "browsed", "trending", "daily", "premium",
    "budget", "gift",
)  # fmt: skip
BEHAVIOR_WORDS = {
    "movies": {"PV": "watched", "CART": "queued", "FAV": "loved", "BUY": "bought"},
    "shopping": {"PV": "viewed", "CART": "carted", "FAV": "wishlisted", "BUY": "bought"},
}


@dataclass(frozen=True)
class Catalog:
    domain: str
    """movies or shopping: picks the behaviour words of a context."""
    category_names: dict[int, str]
    item_names: dict[int, str]
    """The compact entity reference of an item in a hybrid context."""
    item_texts: dict[int, str]
    """The full text of an item (what a full-text context repeats for every event)."""
    item_categories: dict[int, tuple[int, ...]]
    modifiers: tuple[str, ...]

    def item_name(self, item: int) -> str:
        return self.item_names.get(item, f"i{item}")

    def item_text(self, item: int) -> str:
        return self.item_texts.get(item, f"item {item}")

    def category_name(self, category: int) -> str:
        return self.category_names.get(category, f"c{category}")

    def categories_of(self, item: int, fallback: int) -> tuple[int, ...]:
        return self.item_categories.get(item, (fallback,))

    def category_by_name(self) -> dict[str, int]:
        return {name.lower(): category for category, name in self.category_names.items()}


def movie_catalog(movies: pa.Table, genres: tuple[str, ...]) -> Catalog:
    """Titles as entity references; full text = title, year and every genre (MovieLens' u.item)."""
    names, texts, categories = {}, {}, {}
    for row in movies.to_pylist():
        item, genre_ids = row["item_id"], tuple(row["genre_ids"])
        names[item] = row["title"]
        year = f" ({row['year']})" if row["year"] else ""
        texts[item] = f"{row['title']}{year}, genres {', '.join(genres[g] for g in genre_ids)}"
        categories[item] = genre_ids
    return Catalog("movies", dict(enumerate(genres)), names, texts, categories, MOVIE_MODIFIERS)


def coded_catalog(events: pa.Table) -> Catalog:
    """Anonymised items (Taobao): names are short codes, the full text spells out item and category ids."""
    items = events["item_id"].to_pylist()
    cats = events["category_id"].to_pylist()
    category_names = {c: f"c{c}" for c in set(cats)}
    item_names = {i: f"i{i}" for i in items}
    item_texts = {i: f"item {i} in category {c}" for i, c in zip(items, cats)}
    return Catalog("shopping", category_names, item_names, item_texts, {i: (c,) for i, c in zip(items, cats)}, SHOPPING_MODIFIERS)
