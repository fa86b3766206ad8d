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
_NOT_AFTER = rf"(?!{_CONTINUE}|\.)"  # a number or parameter: PostgreSQL reads 1x, 1.2.3 otherwise
# one token and the spaces before it; ``fail``: what this scanner leaves to pglast (E'...' and
# the other string syntaxes, a string continued on the next line, an unterminated quote or
# comment, a nested comment, a number with junk, a lone $, NUL)
_TOKEN = re.compile(
    rf"""
    [ \t\n\r\f\v]*
    (?:
      (?P<fail>[eEbBxXnN]'|[uU]&)
    | (?P<comment>--[^\n\r]*|/\*(?:[^*/]|\*(?!/)|/(?!\*))*\*/)
    | (?P<name>{_START}{_CONTINUE}*|"(?:[^"]|"")+")
    | (?P<string>'(?:[^']|'')*'(?![ \t\n\r\f\v]*['\-/]))
    | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?{_NOT_AFTER})
    | (?P<dotdot>\.\.)
    | (?P<dot>\.)
    | (?P<param>\$[0-9]+{_NOT_AFTER})
    | (?P<dollar>\$(?P<tag>(?:{_START}{_TAG}*)?)\$[\s\S]*?\$(?P=tag)\$)
    | (?P<other>[^"'$/0-9\x00]|/(?!\*))
    | (?P<unknown>[\s\S])
    )?
    """,
    re.VERBOSE,
)
_KIND = {"name": NAME, "dot": DOT, "string": STRING}


def tokens(text: str) -> list[tuple[int, str]] | None:
    """``text``'s tokens as (kind, text), comments and the like as ``OTHER``; ``None`` when the
    text has something this scanner does not cover (pglast's scanner is asked then)."""
    out: list[tuple[int, str]] = []
    reserved = keywords.RESERVED
    for found in _TOKEN.finditer(text):
        group = found.lastgroup
        if group is None:  # the spaces at the end
            continue
        if group in ("fail", "unknown"):
            return None
        word = found.group(group)
        if group == "name" and word[0] != '"' and word.isascii() and word.upper() in reserved:
            out.append((OTHER, word))
        else:
            out.append((_KIND.get(group, OTHER), word))
    return out
