"""The scene-graph perception on its own: name matching, boxes, attributes and the simple_query kinds."""

from __future__ import annotations

import pytest

from rerest_envs.gqa import PerceptionUnavailable, SceneGraphPerception, load_scene_graphs
from rerest_envs.gqa.perception.names import name_matches, verb_forms

GRAPHS = load_scene_graphs()


def sg(image_id: str) -> SceneGraphPerception:
    return SceneGraphPerception(GRAPHS[image_id])


def whole(p: SceneGraphPerception) -> tuple[float, float, float, float]:
    return (0.0, 0.0, float(p.width), float(p.height))


def test_names_match_by_singular_suffix_and_category() -> None:
    assert name_matches("glasses", "glass") and name_matches("tree", "pine tree") and name_matches("person", "guy")
    assert name_matches("furniture", "chair") and name_matches("bag", "backpack") and name_matches("objects", "sky")
    assert not name_matches("man", "woman") and not name_matches("dog", "hot dog")
    assert {"cover", "covers", "covering"} <= verb_forms("covering") and "ride" in verb_forms("riding")


def test_find_uses_categories_attributes_and_the_patch() -> None:
    p = sg("2384055")
    assert [d.ref for d in p.find(whole(p), None, "black bag")] == ["1313961"]  # the black backpack, not the plain bag
    assert {d.ref for d in p.find(whole(p), None, "bag")} == {"1313961", "1313962"}
    man = p.objects["1313960"]
    inside = {d.ref for d in p.find(man.box, None, "object")}
    assert "1313961" in inside and "1313952" not in inside  # the backpack is on the man; the building is not in his box


@pytest.mark.parametrize("image_id, ref, question, answer", [
    ("2412055", None, "What color are the clouds?", "gray"),
    ("2318337", None, "What material is the faucet made of?", "metal"),
    ("2331283", "3053061", "What are the elephants doing?", "eating"),
    ("2402518", "389036", "What is the man holding?", "wine glass"),
    ("2412055", "203888", "What does the snow cover?", "mountain"),
    ("2406519", None, "Who is helping the man?", "lady"),
    ("2384055", "1313949", "Where is the food truck?", "road"),
    ("2345663", None, "Which kind of furniture is green?", "chair"),
    ("2331146", None, "Is it indoors or outdoors?", "outdoors"),
    ("2380687", "1343637", "Is the dog sitting?", "no"),
    ("2341592", "2533568", "Is the person standing under the umbrella?", "yes"),
    ("2384055", "1313980", "Is the man to the right of the black bag?", "yes"),
    ("2318337", None, "Is there a shark?", "no"),
    ("2402518", "389020", None, "wine glass"),
])
def test_simple_query_kinds(image_id: str, ref: str | None, question: str | None, answer: str) -> None:
    p = sg(image_id)
    box = p.objects[ref].box if ref else whole(p)
    assert p.simple_query(box, ref, question or "What is this?") == answer


def test_what_the_graph_cannot_answer_is_said() -> None:
    p = sg("2402518")
    with pytest.raises(PerceptionUnavailable, match="the scene graph cannot answer 'How many people are happy"):
        p.simple_query(whole(p), None, "How many people are happy?")
    with pytest.raises(PerceptionUnavailable, match="llm_query is not available"):
        p.llm_query("hi", True)


def test_verify_property_best_text_match_and_depth() -> None:
    p = sg("2412055")
    sky = p.objects["203891"]
    assert p.verify_property(sky.box, sky.ref, "sky", "foggy") and not p.verify_property(sky.box, sky.ref, "sky", "sunny")
    assert p.best_text_match(sky.box, sky.ref, ["cloudless", "foggy"], None) == "foggy"
    ground, sky_depth = p.objects["203900"], p.compute_depth(sky.box, sky.ref)
    assert p.compute_depth(ground.box, ground.ref) < sky_depth  # lower in the frame = closer


def test_asking_each_question_directly_is_right_or_says_it_cannot() -> None:
    """ViperGPT's prompt teaches programs to ask relation questions in one simple_query on the whole image."""
    from rerest_envs.gqa import answers_match, load_questions

    right, unanswered = 0, []
    for q in load_questions("train_sample"):
        p = SceneGraphPerception(q.graph)
        try:
            answer = p.simple_query(whole(p), None, q.question)
        except PerceptionUnavailable:
            unanswered.append(q.question)
            continue
        assert answers_match(answer, q.answer), (q.question, answer, q.answer)
        right += 1
    assert right == 29, unanswered
