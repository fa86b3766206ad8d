"""A small scanner of PostgreSQL's lexical rules, for the names in a model's texts.

Working out a plan scans every distinct text of a model (column types, defaults, view and index
definitions, function bodies) for the names it spells. pglast's scanner does that exactly, but
importing pglast costs 40-60 ms, more than the scanning: this scanner covers what catalog texts
and ordinary function bodies are made of (names, quoted names, dots, plain strings, numbers,
comments, dollar quotes, operators and punctuation) and gives up, for pglast to scan, on whatever
it does not cover (E'', B'', X'', N'', U&'' strings, a string continued on the next line, nested
or unterminated comments and quotes, numbers with junk, underscores or a base prefix).
tests/schema/test_lexer.py checks that both scanners find the same names.
"""

from __future__ import annotations

import re

from rally_gitops.schema import keywords

# what a token is to the name finder: a name (a reserved keyword is none), the dot of a
# qualified name, a plain '...' string (its content is scanned too), anything else
NAME, DOT, STRING, OTHER = range(4)

# PostgreSQL's identifier characters: ASCII letters, _ and every non-ASCII character, then
# digits and $ too; written as what they are not (a class of every non-ASCII character takes
# sre 10 ms to compile)
_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"
_CONTINUE = r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_TAG = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"  # a dollar quote's tag: no $
_TOKEN = re.compile(
    rf"""
      (?P<space>[ \t\n\r\f\v]+)
    | (?P<comment>--[^\n\r]*|/\*(?:[^*/]|\*(?!/)|/(?!\*))*\*/)
    | (?P<name>{_START}{_CONTINUE}*|"(?:[^"]|"")+")
    | (?P<string>'(?:[^']|'')*')
    | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)
    | (?P<dotdot>\.\.)
    | (?P<dot>\.)
    | (?P<param>\$[0-9]+)
    | (?P<dollar>\$(?:{_START}{_TAG}*)?\$)
    | (?P<other>[^"'$/\x00]|/(?!\*))
    """,
    re.VERBOSE,
)
# E'...', B'...', X'...', N'...', U&'...', U&"...": other string syntaxes
_STRING_PREFIXES = frozenset([*(("'", c) for c in "eEbBxXnN"), ("&", "u"), ("&", "U")])
_AFTER_STRING = re.compile(r"[ \t\n\r\f\v]*(['\-/]?)")
_JUNK = re.compile(rf"{_CONTINUE}|\.")  # after a number or parameter: PostgreSQL's rules differ
_KIND = {"name": NAME, "dot": DOT, "string": STRING}


def tokens(text: str) -> list[tuple[int, str]] | None:
    """``text``'s tokens as (kind, text), comments and the like as ``OTHER``; ``None`` when the
    text has something this scanner does not cover (pglast's scanner is asked then)."""
    out: list[tuple[int, str]] = []
    pos, end = 0, len(text)
    match = _TOKEN.match
    while pos < end:
        found = match(text, pos)
        if found is None:  # an unterminated quote or comment, a nested comment, a lone $
            return None
        group, word, pos = found.lastgroup, found.group(), found.end()
        if group == "space":
            continue
        if group == "name":
            if pos < end and (text[pos], word) in _STRING_PREFIXES:
                return None
            if word[0] != '"' and word.isascii() and word.upper() in keywords.RESERVED:
                out.append((OTHER, word))
                continue
        elif group in ("number", "param"):
            if _JUNK.match(text, pos):
                return None
        elif group == "string":
            # 'a' followed by a newline and 'b' is one string 'ab': left to pglast
            after = _AFTER_STRING.match(text, pos)
            if after is not None and after.group(1):
                return None
        elif group == "dollar":
            close = text.find(word, pos)
            if close < 0:
                return None
            word, pos = text[found.start() : close + len(word)], close + len(word)
        out.append((_KIND.get(group or "", OTHER), word))
    return out
