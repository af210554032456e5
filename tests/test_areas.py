"""Finding the neighbourhood in what a parent writes, in four languages and two scripts."""

from __future__ import annotations

import pytest

from bot.nlu.areas import canonical_area, find_area


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("ik woon in Heverlee", "heverlee"),
        ("wij wonen in kessello", "kessel-lo"),
        ("nous habitons à 3010", "kessel-lo"),
        ("3andi dar f kessel lo", "kessel-lo"),
        ("أسكن فهيفرلي", "heverlee"),
        ("في كسل لو", "kessel-lo"),
        ("ويخمال", "wijgmaal"),
        ("Wilsele-Putkapel", "wilsele"),
        ("in de binnenstad", "leuven-centrum"),
        ("Kessel-Lo, Leuven", "kessel-lo"),
    ],
)
def test_finds_the_area(text: str, area: str) -> None:
    assert find_area(text) == area


def test_a_bare_city_name_is_not_a_neighbourhood() -> None:
    assert find_area("ik woon in Leuven") is None
    assert find_area("j'habite à Louvain") is None


def test_canonical_area_accepts_ids_and_words() -> None:
    assert canonical_area("heverlee") == "heverlee"
    assert canonical_area("3018") == "wijgmaal"
    assert canonical_area("nowhere") is None
    assert canonical_area(None) is None


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("wij wonen in Sint-Maartensdal", "leuven-centrum"),
        ("ik woon aan de Vaartkom", "leuven-centrum"),
        ("ana saken f ridderbuurt", "leuven-centrum"),
        ("we live in the Kop van Kessel-Lo", "kessel-lo"),
        ("nous habitons dans la Casablancawijk", "kessel-lo"),
    ],
)
def test_neighbourhood_names_parents_use(text: str, area: str) -> None:
    assert find_area(text) == area
