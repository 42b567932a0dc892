"""A reproducible synthetic life: hundreds of sessions, thousands of turns, labelled questions.

Each fact is told in one user turn (its evidence) and becomes one memory, written the way
extraction writes it (third person). Questions are phrased with other words part of the
time, so lexical search alone cannot always find the evidence. Four question types:
single facts, updated facts (only the newest counts), facts spread over two sessions, and
time-bound facts asked while still true.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
NAMES = ["Clara", "Marco", "Ines", "Tomas", "Yara", "Felix", "Noor", "Oskar", "Lena", "Ravi",
         "Sofia", "Hugo", "Mila", "Omar", "Greta", "Ivan", "Zoe", "Pablo", "Elif", "Kenji"]
CITIES = ["Lisbon", "Porto", "Berlin", "Madrid", "Oslo", "Vienna", "Prague", "Dublin",
          "Krakow", "Seville", "Munich", "Ghent", "Turin", "Bergen", "Lyon", "Bologna"]
# (relation, words a question may use instead)
RELATIONS = [("sister", "sibling"), ("brother", "sibling"), ("mother", "mum"),
             ("father", "dad"), ("wife", "spouse"), ("husband", "partner"),
             ("daughter", "kid"), ("son", "boy"), ("boss", "manager"), ("dentist", "doctor"),
             ("neighbour", "person next door"), ("best friend", "closest pal"),
             ("landlord", "flat owner"), ("coach", "trainer"), ("cousin", "relative")]
PETS = [("dog", "puppy"), ("cat", "kitten"), ("parrot", "bird"), ("horse", "pony"),
        ("rabbit", "bunny"), ("turtle", "reptile")]
FOODS = ["peanuts", "shellfish", "gluten", "lactose", "kiwi", "sesame", "eggs", "mustard"]
SKILLS = [("piano", "instrument"), ("Japanese", "language"), ("pottery", "craft"),
          ("chess", "board game"), ("salsa", "dance"), ("climbing", "sport"),
          ("sailing", "water sport"), ("welding", "metalwork")]
JOBS = [("nurse", "hospital"), ("architect", "studio"), ("teacher", "school"),
        ("baker", "bakery"), ("engineer", "factory"), ("lawyer", "firm")]
FILLER = ["ok thanks", "haha nice", "can you help me phrase an email?", "what's 17 times 23?",
          "tell me a joke", "good morning!", "summarise this for me please",
          "I'm a bit tired today", "any idea for dinner?", "how do I boil an egg?",
          "translate 'good night' to Italian", "thanks, that's great"]


@dataclass(frozen=True, slots=True)
class Fact:
    key: str  # evidence label
    said: str  # the user's turn
    memory: str  # what extraction stores
    session: int
    at: datetime
    replaces: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Question:
    kind: str  # single | updated | spread | timebound
    text: str
    evidence: tuple[str, ...]  # fact keys
    at: datetime


@dataclass
class Life:
    sessions: int
    turns: list[tuple[int, datetime, str]] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


def _when(session: int, turn: int) -> datetime:
    return START + timedelta(days=session, minutes=turn * 3)


def generate(sessions: int = 300, turns_per_session: int = 12, seed: int = 7) -> Life:
    rnd = random.Random(seed)
    life = Life(sessions)
    planned: dict[int, list[tuple[str, str, str, dict[str, object]]]] = {}

    def plan(session: int, key: str, said: str, memory: str, **kw: object) -> None:
        planned.setdefault(session, []).append((key, said, memory, kw))

    def ask(kind: str, text: str, evidence: tuple[str, ...], session: int) -> None:
        life.questions.append(Question(kind, text, evidence, _when(session, 11)))

    for i, (rel, alt) in enumerate(RELATIONS):  # single facts, asked in its words or others
        name = NAMES[i % len(NAMES)]
        s = rnd.randrange(sessions - 1)
        plan(s, f"rel{i}", f"by the way my {rel} {name} visited", f"Has a {rel} named {name}")
        ask("single", f"what's the name of my {alt if i % 2 else rel}?", (f"rel{i}",),
            min(sessions - 1, s + rnd.randint(1, 60)))
    for i, (pet, alt) in enumerate(PETS):
        name = NAMES[(i * 7) % len(NAMES)]
        s = rnd.randrange(sessions - 1)
        plan(s, f"pet{i}", f"my {pet} {name} is sick", f"Has a {pet} named {name}")
        ask("single", f"how old should my {alt} be before vaccines?", (f"pet{i}",),
            min(sessions - 1, s + 5))
    for i, food in enumerate(FOODS):
        s = rnd.randrange(sessions - 1)
        plan(s, f"food{i}", f"I can't eat {food}, I react badly", f"Is allergic to {food}")
        ask("single", "which ingredients must I avoid in a recipe?" if i % 2 else
            f"is {food} safe for me?", (f"food{i}",), min(sessions - 1, s + 20))
    for i, (skill, alt) in enumerate(SKILLS):
        s1 = rnd.randrange(sessions // 2)
        s2 = rnd.randrange(sessions // 2, sessions - 1)
        teacher = NAMES[(i * 3 + 1) % len(NAMES)]
        plan(s1, f"skill{i}a", f"I started {skill} lessons", f"Is learning {skill}")
        plan(s2, f"skill{i}b", f"{teacher} teaches my {skill} class",
             f"{teacher} teaches their {skill} class")
        ask("spread", f"remind me about my {skill} lessons and who runs my {alt} class",
            (f"skill{i}a", f"skill{i}b"), min(sessions - 1, s2 + 3))
    moves = rnd.sample(CITIES, 6)
    previous: str | None = None
    for i, city in enumerate(moves):  # updated facts: the home city changes six times
        s = (i + 1) * sessions // 8
        plan(s, f"home{i}", f"we finally moved to {city}!", f"Lives in {city}",
             replaces=previous)
        previous = f"home{i}"
        ask("updated", "which city is home for me now?" if i % 2 else
            "where do I live these days?", (f"home{i}",), min(sessions - 1, s + 4))
    for i, (job, place) in enumerate(JOBS):
        s = rnd.randrange(sessions - 1)
        plan(s, f"job{i}", f"I got a job as a {job}", f"Works as a {job} at a {place}")
        ask("single", f"how is my work at the {place} going?" if i % 2 else
            f"what do I do at the {place}?", (f"job{i}",), min(sessions - 1, s + 9))
    for i in range(12):  # time-bound: a trip, asked during it
        city = CITIES[(i * 5) % len(CITIES)]
        s = rnd.randrange(sessions - 8)
        plan(s, f"trip{i}", f"I'm in {city} this week for work",
             f"Is travelling in {city} for work", days=6)
        ask("timebound", "what city am I visiting at the moment?" if i % 2 else
            f"any tips for {city} while I'm there?", (f"trip{i}",), s + 2)
    for session in range(sessions):
        facts = planned.get(session, [])
        slots = rnd.sample(range(turns_per_session), min(len(facts), turns_per_session))
        for t in range(turns_per_session):
            at = _when(session, t)
            if t in slots:
                key, said, memory, kw = facts[slots.index(t)]
                days = kw.get("days")
                replaces = kw.get("replaces")
                expires = at + timedelta(days=int(days)) if isinstance(days, int) else None
                life.facts.append(Fact(key, said, memory, session, at,
                                       replaces if isinstance(replaces, str) else None,
                                       expires))
                life.turns.append((session, at, said))
            else:
                life.turns.append((session, at, rnd.choice(FILLER)))
    # filler memories: durable but irrelevant facts, the haystack
    for i in range(sessions * 3):
        s = i % sessions
        a, b = rnd.choice(NAMES), rnd.choice(CITIES)
        text = rnd.choice([f"Read a book about {b}", f"Met {a} at a conference",
                           f"Bought a gift for {a}", f"Watched a film set in {b}",
                           f"Wants to visit {b} some day", f"Had lunch with {a}"])
        life.facts.append(Fact(f"noise{i}", text, text, s, _when(s, 11)))
    life.facts.sort(key=lambda f: f.at)
    return life


_WORDS = ("garden kitchen project invoice holiday recipe violin bicycle meeting doctor "
          "printer tax passport wedding concert marathon insurance laptop novel sunset")
WORDS = _WORDS.split()
