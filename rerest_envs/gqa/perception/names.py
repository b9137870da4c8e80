"""Words for the scene-graph perception: name matching, object categories and attribute kinds.

GQA questions say "furniture", "animal", "person" or "bag" where the scene graph says "chair",
"zebra", "guy" or "backpack"; `name_matches` accepts a graph object for a queried name when the
singular names agree, when the graph name ends with the query ("pine tree" for "tree"), or when the
graph name is a kind of the queried category. The tables are ours, written for GQA's vocabulary.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rerest_envs.layout.names import singular

#: category -> kinds of it (singular); a query for the category matches every kind.
CATEGORIES: dict[str, frozenset[str]] = {name: frozenset(kinds.split(", ")) for name, kinds in {
    "person": "person, man, woman, lady, guy, boy, girl, child, kid, baby, player, skier, surfer, skateboarder, "
              "snowboarder, rider, biker, adult, gentleman, spectator, officer, policeman, chef, worker, catcher, "
              "batter, pitcher, umpire, tourist, passenger, customer, people, men, women, children",
    "animal": "animal, dog, cat, horse, zebra, elephant, giraffe, cow, sheep, bear, bird, duck, goose, pigeon, seagull, "
              "puppy, kitten, calf, lamb, pony, deer, goat, pig, monkey, bull, fish, elephants",
    "furniture": "furniture, chair, table, couch, sofa, bed, desk, shelf, bench, cabinet, dresser, stool, armchair, "
                 "bookshelf, nightstand, drawer, ottoman, cupboard",
    "food": "food, pizza, sandwich, cake, bread, donut, fruit, banana, apple, orange, vegetable, broccoli, carrot, "
            "meat, cheese, pepperoni, hot dog, fries, salad, rice, egg, tomato, onion, pasta, soup, dessert, cookie, "
            "pie, burger, hamburger, pizza slice",
    "vehicle": "vehicle, car, truck, bus, train, motorcycle, bicycle, bike, van, boat, airplane, plane, taxi, suv, "
               "jeep, scooter, food truck",
    "clothing": "clothing, shirt, pants, jeans, shorts, jacket, coat, hat, cap, dress, skirt, sweater, shoe, sock, "
                "helmet, tie, glove, scarf, uniform, boot, t-shirt, hoodie, vest",
    "bag": "bag, backpack, handbag, purse, suitcase, luggage",
    "place": "road, street, sidewalk, beach, field, park, parking lot, highway, lot, yard, ground, grass, floor",
}.items()}
CATEGORIES["people"] = CATEGORIES["person"]
CATEGORIES["animals"] = CATEGORIES["animal"]
CATEGORIES["clothes"] = CATEGORIES["clothing"]
#: Compound names that are not a kind of their last word ("hot dog" is no dog).
COMPOUNDS = frozenset({"hot dog", "teddy bear", "sea lion", "fire hydrant", "police car", "ice cream", "french fry"})
#: Names that match every object.
ANY_OBJECT = frozenset({"object", "objects", "thing", "things", "item", "items"})

COLORS = frozenset("red orange yellow green blue purple pink brown black white gray grey tan silver gold beige "
                   "maroon navy teal cream dark light khaki".split())
MATERIALS = frozenset("wood wooden metal metallic plastic glass fabric leather paper ceramic rubber stone brick "
                      "concrete cloth steel".split())
#: Poses: an activity question prefers other -ing attributes ("eating" before "standing").
POSES = frozenset("standing sitting lying walking crouching crouched".split())
_WORD = re.compile(r"[a-z0-9-]+")
_ARTICLES = frozenset({"a", "an", "the", "this", "that", "these", "those", "some", "any", "other", "another"})


def words(text: str) -> list[str]:
    """Lower-case words of `text`, articles dropped."""
    return [w for w in _WORD.findall(text.lower()) if w not in _ARTICLES]


@lru_cache(maxsize=1 << 16)  # pure; the phrase resolver asks the same pairs many times
def norm(name: str) -> str:
    """Comparable form of a name: lower case, no articles, last word singular ("the Wine Glasses" -> "wine glass")."""
    ws = words(name)
    if not ws:
        return ""
    return " ".join(ws[:-1] + [singular(ws[-1])])


@lru_cache(maxsize=1 << 16)
def name_matches(query: str, name: str) -> bool:
    """Whether a scene-graph object called `name` answers a query for `query`."""
    q, n = norm(query), norm(name)
    if not q or not n:
        return False
    if q in ANY_OBJECT or q == n or (n.endswith(" " + q) and n not in COMPOUNDS):
        return True
    kinds = CATEGORIES.get(q) or CATEGORIES.get(query.strip().lower())
    return bool(kinds) and (n in kinds or name.strip().lower() in kinds or n.rsplit(" ", 1)[-1] in kinds)


def verb_forms(relation: str) -> set[str]:
    """Ways a question may write a relation: "covering" -> {"covering", "cover", "covers"}."""
    first, _, rest = relation.partition(" ")
    forms = {relation}
    if first.endswith("ing") and len(first) > 4:
        stem = first[:-3]
        bases = {stem, stem + "e"} | ({stem[:-1]} if len(stem) > 2 and stem[-1] == stem[-2] else set())
        for base in bases:
            for form in (base, base + "s"):
                forms.add(f"{form} {rest}".strip())
    return forms


__all__ = ["ANY_OBJECT", "CATEGORIES", "COMPOUNDS", "COLORS", "MATERIALS", "POSES", "name_matches", "norm", "verb_forms", "words"]
