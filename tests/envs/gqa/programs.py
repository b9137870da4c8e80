"""Hand-written ViperGPT-style programs for the 33 GQA questions whose images have scene graphs.

Written by us in the style ViperGPT's GQA prompt teaches (find + geometry for left/right/top/bottom,
`verify_property` for attributes, `simple_query` for relations and names, `bool_to_yesno` for yes/no),
so that each answers its question through the scene-graph perception. Keys are GQA question ids.
"""

PROGRAMS: dict[str, str] = {
    # What is the man to the left of the painting holding?
    "11954861": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    painting = image_patch.find("painting")[0]
    men = [m for m in image_patch.find("man") if m.horizontal_center < painting.horizontal_center]
    if not men:
        return image_patch.simple_query("What is the man to the left of the painting holding?")
    return men[0].simple_query("What is the man holding?")
''',
    # Which color are the clouds?
    "13482782": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    clouds = image_patch.find("clouds")
    if not clouds:
        return image_patch.simple_query("Which color are the clouds?")
    return clouds[0].simple_query("What color are the clouds?")
''',
    # Who is helping the man?
    "16205269": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    # The question contains a relation, so ask it directly.
    return image_patch.simple_query("Who is helping the man?")
''',
    # Which kind of furniture is green?
    "171048450": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    for furniture in image_patch.find("furniture"):
        if furniture.verify_property("furniture", "green"):
            return furniture.simple_query("What is this?")
    return image_patch.simple_query("Which kind of furniture is green?")
''',
    # Which kind of furniture is the cat sitting under?
    "171048543": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    cat_patches = image_patch.find("cat")
    if not cat_patches:
        return image_patch.simple_query("Which kind of furniture is the cat sitting under?")
    return cat_patches[0].simple_query("What is the cat sitting under?")
''',
    # Is the black animal sitting under the green chair?
    "171048547": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    animals = [a for a in image_patch.find("animal") if a.verify_property("animal", "black")]
    if not animals:
        return "no"
    return animals[0].simple_query("Is the animal sitting under the chair?")
''',
    # Does that sky look foggy or cloudless?
    "13482838": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    sky_patches = image_patch.find("sky")
    patch = sky_patches[0] if sky_patches else image_patch
    return patch.best_text_match(["foggy", "cloudless"])
''',
    # Does the person that is playing play with a controller?
    "05782018": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    players = [p for p in image_patch.find("person") if p.verify_property("person", "playing")]
    if not players:
        return "no"
    toy = players[0].simple_query("What is the person playing with?")
    return bool_to_yesno(toy == "controller")
''',
    # Is there a wine glass to the left of the man on the left?
    "11954688": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    men = sorted(image_patch.find("man"), key=lambda m: m.horizontal_center)
    if not men:
        return "no"
    man = men[0]
    glasses = image_patch.find("wine glass")
    return bool_to_yesno(any(g.horizontal_center < man.horizontal_center for g in glasses))
''',
    # Is the black bag to the right or to the left of the man at the window?
    "13522687": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    bags = image_patch.find("black bag")
    men = [m for m in image_patch.find("man") if m.simple_query("Is the man at the window?") == "yes"]
    if not bags or not men:
        return image_patch.simple_query("Is the black bag to the right or to the left of the man at the window?")
    return "left" if bags[0].horizontal_center < men[0].horizontal_center else "right"
''',
    # Is there a ball to the right of the person on the left side?
    "05782086": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    people = sorted(image_patch.find("person"), key=lambda p: p.horizontal_center)
    if not people:
        return "no"
    person = people[0]
    balls = image_patch.find("ball")
    return bool_to_yesno(any(b.horizontal_center > person.horizontal_center for b in balls))
''',
    # Does the shirt have a different color than the fence?
    "05781931": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    shirt = image_patch.find("shirt")[0]
    fence = image_patch.find("fence")[0]
    shirt_color = shirt.simple_query("What color is the shirt?")
    fence_color = fence.simple_query("What color is the fence?")
    return bool_to_yesno(shirt_color != fence_color)
''',
    # Who seems to be younger, the lady or the man?
    "16205217": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    for name in ["lady", "man"]:
        for patch in image_patch.find(name):
            if patch.verify_property(name, "young"):
                return name
    return image_patch.simple_query("Who seems to be younger, the lady or the man?")
''',
    # Is the lady to the right or to the left of the woman in the middle?
    "11954851": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    women = sorted(image_patch.find("woman"), key=lambda w: abs(w.horizontal_center - image_patch.horizontal_center))
    ladies = image_patch.find("lady")
    if not women or not ladies:
        return image_patch.simple_query("Is the lady to the right or to the left of the woman in the middle?")
    return "right" if ladies[0].horizontal_center > women[0].horizontal_center else "left"
''',
    # Is this an old man?
    "16205297": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    man_patches = image_patch.find("man")
    if not man_patches:
        return "no"
    return bool_to_yesno(man_patches[0].verify_property("man", "old"))
''',
    # What does the snow on the ground cover?
    "13482773": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    snow_patches = image_patch.find("snow")
    if not snow_patches:
        return image_patch.simple_query("What does the snow on the ground cover?")
    return snow_patches[0].simple_query("What does the snow cover?")
''',
    # On which side of the photo is the bag?
    "13522695": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    bag = image_patch.find("bag")[0]
    return "left" if bag.horizontal_center < image_patch.horizontal_center else "right"
''',
    # The zebra that is on the grass is what color?
    "13570135": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    for zebra in image_patch.find("zebra"):
        if zebra.simple_query("Is the zebra on the grass?") == "yes":
            return zebra.simple_query("What color is the zebra?")
    return image_patch.simple_query("What color is the zebra?")
''',
    # The food truck is where?
    "13522732": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    trucks = image_patch.find("food truck")
    if not trucks:
        return image_patch.simple_query("Where is the food truck?")
    return trucks[0].simple_query("Where is the food truck?")
''',
    # Who is wearing a shirt?
    "17846275": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    return image_patch.simple_query("Who is wearing a shirt?")
''',
    # Is the man in the bottom or in the top part of the photo?
    "12557423": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    man = image_patch.find("man")[0]
    return "bottom" if man.vertical_center < image_patch.vertical_center else "top"
''',
    # Does the zebra to the left of the other zebra seem to be white?
    "13570099": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    zebras = sorted(image_patch.find("zebra"), key=lambda z: z.horizontal_center)
    if not zebras:
        return "no"
    return bool_to_yesno(zebras[0].verify_property("zebra", "white"))
''',
    # What are the elephants that are standing doing?
    "15451810": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    standing = [e for e in image_patch.find("elephants") if e.verify_property("elephants", "standing")]
    if not standing:
        return image_patch.simple_query("What are the elephants doing?")
    return standing[0].simple_query("What are the elephants doing?")
''',
    # Who is on the beach?
    "17846283": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    return image_patch.simple_query("Who is on the beach?")
''',
    # Who is wearing a hat?
    "17846264": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    return image_patch.simple_query("Who is wearing a hat?")
''',
    # Is there a shark to the right of the mirror?
    "0085042": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    mirrors = image_patch.find("mirror")
    sharks = image_patch.find("shark")
    if not mirrors or not sharks:
        return "no"
    return bool_to_yesno(any(s.horizontal_center > mirrors[0].horizontal_center for s in sharks))
''',
    # Is the food to the right of a bottle?
    "15451857": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    food = image_patch.find("food")
    bottles = image_patch.find("bottle")
    if not food or not bottles:
        return "no"
    return bool_to_yesno(food[0].horizontal_center > bottles[0].horizontal_center)
''',
    # Which side is the food on?
    "15451854": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    food = image_patch.find("food")[0]
    return "left" if food.horizontal_center < image_patch.horizontal_center else "right"
''',
    # Is it outdoors or indoors?
    "13570047": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    return image_patch.best_text_match(["outdoors", "indoors"])
''',
    # Is the fence in the top part or in the bottom of the photo?
    "12557418": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    fence = image_patch.find("fence")[0]
    return "top" if fence.vertical_center > image_patch.vertical_center else "bottom"
''',
    # Is the dog sitting?
    "5542027": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    dogs = image_patch.find("dog")
    if not dogs:
        return "no"
    return bool_to_yesno(dogs[0].verify_property("dog", "sitting"))
''',
    # Is the person standing under the umbrella?
    "15192363": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    people = image_patch.find("person")
    if not people:
        return "no"
    return people[0].simple_query("Is the person standing under the umbrella?")
''',
    # Is the person holding the spatula on the right?
    "905754": '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    spatulas = image_patch.find("spatula")
    people = image_patch.find("person")
    if not spatulas or not people:
        return "no"
    on_right = spatulas[0].horizontal_center > image_patch.horizontal_center
    holding = people[0].simple_query("Is the person holding the spatula?") == "yes"
    return bool_to_yesno(on_right and holding)
''',
}
