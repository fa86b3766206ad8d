"""The small scanner finds the names pglast's scanner finds, and leaves to it what it does not
cover (issue 11 speed: the plan of a whole schema without importing pglast)."""

from __future__ import annotations

import random

import pytest

from rally_gitops.schema import graph, lexer
from testing.generate_cases import CASES

# what catalog texts and function bodies are made of, and the corners of the lexical rules
TEXTS = (
    "integer",
    "character varying(40)[]",
    "nextval('public.orders_id_seq'::regclass)",
    "CHECK ((price > (0)::numeric))",
    'CREATE UNIQUE INDEX "User_email_key" ON public."User" USING btree (email)',
    ' SELECT t.id,\n    t."A""b" AS x\n   FROM (public.t\n     JOIN s.u ON ((u.t_id = t.id)));',
    "FOREIGN KEY (p_id, k) REFERENCES public.p(id, k) ON DELETE CASCADE",
    "BEGIN NEW.a := coalesce(NEW.a, 0); RETURN NEW; END",
    "SELECT $1 + x.y FROM a.b -- a comment with public.t in it\nWHERE (c).d = 'it''s s.t'",
    "FOR i IN a..b LOOP PERFORM s.f(i); END LOOP; x := a...b;",
    "EXECUTE $q$SELECT 1 FROM s.t$q$; PERFORM $$x.y$$",
    'select.a, user.b, text.c, join.d, "select".e, ſelect.f',
    "a /* public.t */ . b, c\t.\fd, e\v.f",
    "1.5 + .5e3 - 7e-2 * 4. / x.y",
    "'a' || 'b.c' || '' || 'public.t'::regclass",
    "é.ü, \u00a0x.y, Ärger.Öl",
    "\n    SELECT count(*) FROM s.t WHERE at >= since;\n  ",
)
# what the small scanner leaves to pglast: another string syntax, a string continued on the next
# line, nested or unterminated comments and quotes, numbers PostgreSQL reads otherwise, NUL
LEFT_TO_PGLAST = (
    "E'a\\'b' || s.t",
    "b'101'",
    "X'1F'",
    "N'x'",
    "U&'d\\0061t'",
    'U&"d\\0061t"',
    "'a'\n'b.c'",
    "'a' -- why\n'b'",
    "/* a /* b */ c */ s.t",
    "/* never ends",
    "'never ends",
    '"never ends',
    '""',
    "0x1F",
    "FOR i IN 1..10 LOOP",
    "1_000",
    "12abc",
    "1e",
    "$1abc",
    "$1.f",
    "$tag$ never ends",
    "a $ b",
    "a\x00b",
)


def _both(text: str) -> tuple[object, object]:
    tokens = lexer.tokens(text)
    assert tokens is not None, text
    return graph.found_in(tokens), graph.found_in(graph.scanned(text))


@pytest.mark.parametrize("text", TEXTS)
def test_the_small_scanner_finds_the_names_pglast_finds(text: str) -> None:
    mine, pglasts = _both(text)
    assert mine == pglasts


def test_a_view_definition_gives_its_qualified_names() -> None:
    assert graph.found_in(lexer.tokens(TEXTS[5]) or []) == (
        ("t", "id"),
        ("t", 'A"b'),
        ("x",),
        ("public", "t"),
        ("join",),  # not a reserved keyword: a name as far as the scanner knows
        ("s", "u"),
        ("u", "t_id"),
        ("t", "id"),
    )


@pytest.mark.parametrize("text", LEFT_TO_PGLAST)
def test_what_the_small_scanner_does_not_cover_is_left_to_pglast(text: str) -> None:
    assert lexer.tokens(text) is None
    # and chains() still answers, through pglast
    assert graph.chains(text) == graph.found_in(graph.scanned(text))


def test_every_statement_of_the_generate_cases_gives_the_same_names() -> None:
    pieces = {
        piece for case in CASES for sql in (case.before, case.after) for piece in sql.split(";")
    }
    covered = [p for p in pieces if lexer.tokens(p) is not None]
    assert len(covered) > 100
    assert [p for p in covered if _both(p)[0] != _both(p)[1]] == []


def test_random_texts_of_sql_fragments_give_the_same_names() -> None:
    fragments = (
        *("a", "B", "é", "_x", "t1", "$", "$1", "$$", "$q$", "'", "''", '"', '""', ".", ".."),
        *(" ", "\n", "\t", "\v", "--", "/*", "*/", "*", "/", "-", "+", "::", ":=", "e", "E"),
        *("x", "n", "u", "U", "&", "1", "0x", "1.5", ".5", "1e", "1e5", "_", "select", "text"),
        *("user", "(", ")", ",", ";", "\\", "`", "=", "ß", "ſ", "s.t", '"Q"', "'s'", "$a$x$a$"),
    )
    rng = random.Random(4711)
    covered = 0
    for _ in range(20000):
        text = "".join(rng.choice(fragments) for _ in range(rng.randint(1, 12)))
        tokens = lexer.tokens(text)
        if tokens is None:
            continue
        covered += 1
        assert graph.found_in(tokens) == graph.found_in(graph.scanned(text)), repr(text)
    assert covered > 8000
