"""An agent's memory: notes in KV, recalled by TF-IDF ranking against a query.

Each note is one KV entry, `note/<12-digit id>` -> CBOR {id, text, tags, created_ms}, so notes
list in id order. ctx.state holds the next id and the number of notes. `recall` pages through
every note with ctx.kv.list and scores each against the query's words (case-folded, stop words
dropped, plurals made singular): for every query word in the note, its share of the note's words
times its inverse document frequency over all notes.
"""

import math
import re
from collections import Counter
from typing import Any

from edgewise_actor import Actor, ActorError, Context
from edgewise_actor.cbor import decode, encode

actor = Actor()
NOTE_PREFIX = "note/"
MAX_TEXT = 10_000
MAX_TAGS = 16
MAX_RECALL = 100
WORD = re.compile(r"[^\W_]+")  # a run of letters or digits, in any script
STOP_WORDS = frozenset(
    {
        "a", "an", "and", "are", "at", "be", "by", "do", "does", "for", "from", "how", "i", "in",
        "is", "it", "of", "on", "or", "the", "to", "was", "we", "what", "when", "where", "which",
        "who", "why", "will", "with", "you",
    }
)  # fmt: skip


def words(text: str) -> list[str]:
    """The text's words, case-folded, without stop words, a plural -s taken off."""
    folded = (word.casefold() for word in WORD.findall(text))
    return [singular(word) for word in folded if word not in STOP_WORDS]


def singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def note_key(note_id: int) -> str:
    return f"{NOTE_PREFIX}{note_id:012d}"


@actor.action
def remember(ctx: Context, text: str, tags: list[str] | None = None) -> int:
    text, tags = text.strip(), tags or []
    if not text or len(text) > MAX_TEXT:
        raise ActorError("bad_args", f"remember: text must have 1..{MAX_TEXT} characters")
    if len(tags) > MAX_TAGS or not all(tag.strip() for tag in tags):
        raise ActorError("bad_args", f"remember: at most {MAX_TAGS} tags, none empty")
    note_id: int = ctx.state.get("next_id", 1)
    note = {"id": note_id, "text": text, "tags": tags, "created_ms": ctx.now_ms}
    ctx.kv.put(note_key(note_id), encode(note))
    ctx.state["next_id"] = note_id + 1
    ctx.state["notes"] = ctx.state.get("notes", 0) + 1
    ctx.broadcast("remembered", note_id)
    return note_id


@actor.action
def recall(ctx: Context, query: str, limit: int = 5) -> list[dict[str, Any]]:
    terms = set(words(query))
    if not terms or not 1 <= limit <= MAX_RECALL:
        raise ActorError("bad_args", f"recall: a query with words, limit in 1..{MAX_RECALL}")
    total, doc_freq, matches = 0, Counter[str](), []
    for _, value in ctx.kv.list(NOTE_PREFIX):
        note = decode(value)
        freq = Counter(words(note["text"] + " " + " ".join(note["tags"])))
        found = terms & freq.keys()
        total += 1
        doc_freq.update(found)
        if found:
            matches.append((note, freq))
    idf = {term: math.log((1 + total) / (1 + doc_freq[term])) + 1 for term in terms}
    ranked = [{**note, "score": round(tf_idf(freq, idf), 4)} for note, freq in matches]
    ranked.sort(key=lambda note: (-note["score"], -note["id"]))
    return ranked[:limit]


def tf_idf(freq: Counter[str], idf: dict[str, float]) -> float:
    """Each query word's share of the note's words, weighted by how rare the word is."""
    length = sum(freq.values())
    return sum(freq[term] / length * weight for term, weight in idf.items())


@actor.action
def forget(ctx: Context, note_id: int) -> bool:
    key = note_key(note_id)
    if note_id < 1 or ctx.kv.get(key) is None:
        return False
    ctx.kv.delete(key)
    ctx.state["notes"] -= 1
    return True


@actor.action
def count(ctx: Context) -> int:
    notes: int = ctx.state.get("notes", 0)
    return notes
