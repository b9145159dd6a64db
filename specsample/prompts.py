"""The default prompt set of ``specsample decode`` and ``scripts/measure_real_pair.py``.

Twenty-four short requests, half code and half prose, written for this project (no outside
text). Each is one user message: the decode command wraps it in the tokenizer's chat
template when the tokenizer has one (an instruct model's natural input) and otherwise
feeds the text as it is. Block efficiency depends on the text being generated (code is
more predictable for a draft than prose), so reports list the two kinds separately as well
as together.
"""

from __future__ import annotations

from dataclasses import dataclass

CODE = "code"
PROSE = "prose"


@dataclass(frozen=True)
class Prompt:
    """One prompt: a short ``name``, its ``kind`` (``"code"`` or ``"prose"``) and ``text``."""

    name: str
    kind: str
    text: str


#: The embedded prompts, code first, then prose; order is part of the seeding of a run.
DEFAULT_PROMPTS: tuple[Prompt, ...] = (
    Prompt("fibonacci", CODE,
           "Write a Python function that returns the n-th Fibonacci number without recursion."),
    Prompt("binary-search", CODE,
           "Write a Python function that finds the index of a value in a sorted list by "
           "binary search and returns -1 when the value is absent."),
    Prompt("word-count", CODE,
           "Write a Python script that reads a text file and prints the ten most frequent "
           "words with their counts."),
    Prompt("merge-intervals", CODE,
           "Write a Python function that merges overlapping intervals given as a list of "
           "(start, end) pairs."),
    Prompt("linked-list", CODE,
           "Implement a singly linked list class in Python with append, remove and "
           "__iter__ methods."),
    Prompt("csv-average", CODE,
           "Write Python code that loads a CSV file with a header row and prints the "
           "average of the column named price."),
    Prompt("palindrome", CODE,
           "Write a Python function that checks whether a string is a palindrome, "
           "ignoring case, spaces and punctuation."),
    Prompt("sql-top-customers", CODE,
           "Write an SQL query that returns the five customers with the highest total "
           "order amount from tables customers(id, name) and orders(id, customer_id, amount)."),
    Prompt("js-debounce", CODE,
           "Write a JavaScript function debounce(fn, wait) that delays calling fn until "
           "wait milliseconds have passed since the last call."),
    Prompt("matrix-multiply", CODE,
           "Write a C function that multiplies two square matrices of doubles stored in "
           "row-major arrays."),
    Prompt("lru-cache", CODE,
           "Implement an LRU cache class in Python with get and put methods that both run "
           "in constant time."),
    Prompt("unit-test", CODE,
           "Write pytest unit tests for a function slugify(title) that lowercases a title "
           "and joins its words with hyphens."),
    Prompt("sky-blue", PROSE,
           "Explain in one paragraph why the sky is blue during the day and red at sunset."),
    Prompt("bread", PROSE,
           "Describe, step by step, how to bake a simple loaf of bread at home."),
    Prompt("letter", PROSE,
           "Write a short, friendly letter to a neighbour asking them to water your plants "
           "while you are away for a week."),
    Prompt("photosynthesis", PROSE,
           "Explain photosynthesis to a ten-year-old in a few sentences."),
    Prompt("history-printing", PROSE,
           "Summarise in a paragraph how the printing press changed the spread of ideas in "
           "Europe."),
    Prompt("story-lighthouse", PROSE,
           "Write the opening paragraph of a short story about a lighthouse keeper who "
           "finds a message in a bottle."),
    Prompt("exercise", PROSE,
           "Give five practical tips for someone who wants to start running regularly."),
    Prompt("compare-cities", PROSE,
           "Compare living in a large city with living in a small village, listing two "
           "advantages of each."),
    Prompt("recipe-soup", PROSE,
           "Write a recipe for a vegetable soup that serves four people."),
    Prompt("email-meeting", PROSE,
           "Write a brief, polite email that moves a team meeting from Tuesday to Thursday "
           "afternoon."),
    Prompt("poem-autumn", PROSE,
           "Write a short poem of eight lines about the first cold morning of autumn."),
    Prompt("explain-inflation", PROSE,
           "Explain what inflation is and why central banks try to keep it low, in plain "
           "language."),
)


def default_prompts(n: int | None = None) -> tuple[Prompt, ...]:
    """The first ``n`` default prompts, alternating code and prose (all when ``n`` is None).

    Alternating keeps a short run balanced between the two kinds: ``n = 2`` gives one code
    and one prose prompt.
    """
    code = [p for p in DEFAULT_PROMPTS if p.kind == CODE]
    prose = [p for p in DEFAULT_PROMPTS if p.kind == PROSE]
    mixed = [p for pair in zip(code, prose, strict=True) for p in pair]
    if n is None:
        return tuple(mixed)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int; got {type(n).__name__}")
    if not 1 <= n <= len(mixed):
        raise ValueError(f"n must lie in [1, {len(mixed)}] (the number of default prompts); got {n}")
    return tuple(mixed[:n])
