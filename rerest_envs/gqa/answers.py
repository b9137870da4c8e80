"""GQA answer matching, in two protocols.

`"paper"` (`viper_answer`, `viper_match`): ViperGPT's rule exactly, transcribed from
cvlab-columbia/viper (commit 09fe3465224766860d8dd4ec48db942f22b05092) `datasets/gqa.py`
`GQADataset.post_process` + `accuracy` and `datasets/__init__.py` `general_postprocessing`: the
prediction is post-processed (None -> "no", a list -> its first element, booleans -> yes/no, lower
case, VQA punctuation and digit/article rules, its quirks included: a punctuation mark is deleted
rather than spaced when it touches a space anywhere in the text, and at most 32 dots are stripped)
and compared with GQA's answer AS IS. So a gold that post-processing would change can never be
matched: in our data 5 of the 748 distinct golds ("t-shirt", "taking a picture", "taking a photo",
"at the camera", "making a face"; 7 of 6,572 questions with a gold).

`"default"` (`normalize_answer`, `answers_match`): similar VQA-style normalisation (lower case,
newlines and tabs to spaces, punctuation to spaces, a dot between digits kept, number words to
digits, articles dropped, common contractions restored, `True`/`False` to yes/no), applied to the
gold answer too, so those 5 golds (7 questions) can be matched: "t-shirt" normalises to "t shirt"
on both sides. It is not a no-op on gold, as this docstring once said.
"""

from __future__ import annotations

import re

NUMBER_WORDS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
ARTICLES = {"a", "an", "the"}
BOOLEANS = {"true": "yes", "false": "no"}
CONTRACTIONS = {"dont": "don't", "doesnt": "doesn't", "isnt": "isn't", "arent": "aren't", "cant": "can't",
                "wont": "won't", "im": "i'm", "ive": "i've", "youre": "you're", "thats": "that's", "whats": "what's"}
_PUNCT = re.compile(r"[;/\[\]\"{}()=+\\_\-><@`,?!*#%^&$|~:]")
_DOT_NOT_DECIMAL = re.compile(r"(?<!\d)\.(?!\d)")


def normalize_answer(text: object) -> str:
    """The comparable form of an answer (`"Two dogs."` -> `"2 dogs"`, `True` -> `"yes"`)."""
    s = str(text).replace("\n", " ").replace("\t", " ").strip().lower()
    s = _PUNCT.sub(" ", s)
    s = _DOT_NOT_DECIMAL.sub("", s)
    words = []
    for word in s.split():
        word = NUMBER_WORDS.get(word, word)
        word = CONTRACTIONS.get(word, word)
        if word not in ARTICLES:
            words.append(word)
    joined = " ".join(words)
    return BOOLEANS.get(joined, joined)


def answers_match(prediction: object, answer: str) -> bool:
    """GQA accuracy for one question: normalised exact match."""
    return normalize_answer(prediction) == normalize_answer(answer)


# -- ViperGPT's rule (protocol="paper") ------------------------------------------------------------
VIPER_CONTRACTIONS = {"aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
                      "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
                      "didnt": "didn't","doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
                      "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
                      "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
                      "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
                      "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
                      "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
                      "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
                      "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
                      "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
                      "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
                      "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
                      "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
                      "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
                      "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
                      "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
                      "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
                      "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
                      "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
                      "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
                      "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
                      "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
                      "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
                      "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
                      "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
                      "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've",
                      "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
                      "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
                      "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
                      "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
                      "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
                      "youre": "you're", "youve": "you've"}
VIPER_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
VIPER_ARTICLES = ["a", "an", "the"]
VIPER_PUNCT = [";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
_VIPER_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")  # sic: "(?!<=" is a lookahead, as there
_VIPER_COMMA_STRIP = re.compile(r"(\d)(\,)(\d)")


def _viper_punctuation(in_text: str) -> str:
    out_text = in_text
    comma = _VIPER_COMMA_STRIP.search(in_text) is not None
    for p in VIPER_PUNCT:
        if (p + " " in in_text or " " + p in in_text) or comma:
            out_text = out_text.replace(p, "")
        else:
            out_text = out_text.replace(p, " ")
    return _VIPER_PERIOD_STRIP.sub("", out_text, 32)  # sic: re.UNICODE (= 32) passed as `count`


def _viper_digit_article(in_text: str) -> str:
    out = [VIPER_NUMBERS.get(w, w) for w in in_text.lower().split()]
    out = [w for w in out if w not in VIPER_ARTICLES]
    return " ".join(VIPER_CONTRACTIONS.get(w, w) for w in out)


def viper_answer(text: str) -> str:
    """`GQADataset.post_process` of a prediction already read by `viper_result` (a str): the string
    steps of `general_postprocessing` (idempotent), then punctuation and digits/articles."""
    s = str(text).replace("\n", " ").replace("\t", " ").strip().lower()
    s = {"true": "yes", "false": "no"}.get(s, s)
    s = s.replace("\n", " ").replace("\t", " ").strip()
    return _viper_digit_article(_viper_punctuation(s))


def viper_match(prediction_text: str, answer: str) -> bool:
    """ViperGPT's GQA accuracy for one question: post-processed prediction == the gold as written."""
    return viper_answer(prediction_text) == answer


__all__ = ["VIPER_CONTRACTIONS", "answers_match", "normalize_answer", "viper_answer", "viper_match"]
