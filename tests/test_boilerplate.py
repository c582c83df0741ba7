"""Stage 2, boilerplate: rules as data (with negatives that must stay),
learned per-source lines, whole-page trimming, off-topic inserts measured on
real BBC articles, the safety valve, and `newsclean explain`."""

from __future__ import annotations

import functools
import itertools
import json
import random
import re

import pytest

from cleaners.boilerplate import SourceLineStats, is_title_line, line_key, main_block, strip_boilerplate
from cleaners.gates import furniture_share, gate
from cleaners.record import Article
from conftest import DATA, shared
from pipelines.config import load_config

CASES = json.loads((DATA / "boilerplate_cases.json").read_text(encoding="utf-8"))

TITLE = "Portville ferry fares to rise as harbor board backs new fleet"
# Genuine paragraphs of a made-up article, long enough that no rule or the
# safety valve is triggered by their shape.
BODY = [
    "The Portville harbor board voted on Monday to raise ferry fares by 6 percent from June, saying the money will pay for two new vessels.",
    "Commuters who cross the bay every day will pay about $1.10 more per week, according to figures presented at the meeting.",
    "Board members said the oldest ferry in the fleet is now 41 years old and spent more than 60 days out of service last year.",
    "A group of harbor residents asked the board to freeze fares for students and pensioners, and the board agreed to study the idea.",
    "The new ferries are due to enter service in 2026, once the shipyard in Marlow finishes the hulls and the engines are tested.",
]


@pytest.fixture(scope="module")
def rules():
    return load_config().ruleset()


def _article(line: str, at: str) -> str:
    paras = list(BODY)
    pos = {"head": 0, "middle": 2, "tail": len(paras)}[at]
    paras.insert(pos, line)
    return "\n\n".join(paras)


def _clean(text: str, rules, **kw):
    return strip_boilerplate(text, title=TITLE, rules=rules, **kw)


@pytest.mark.parametrize("case", CASES["remove"], ids=lambda c: f"{c['reason']}:{c['line'][:30]}")
def test_rule_removes_leftover(rules, case):
    res = _clean(_article(case["line"], case["at"]), rules)
    assert case["line"] not in res.text.split("\n")
    assert any(e.reason == case["reason"] and e.text == case["line"] for e in res.edits), [e.reason for e in res.edits]
    for para in BODY:  # and nothing else
        assert para in res.text


@pytest.mark.parametrize("case", CASES["keep"], ids=lambda c: c["why"])
def test_rule_keeps_genuine_line(rules, case):
    res = _clean(_article(case["line"], case["at"]), rules)
    assert case["line"] in res.text.split("\n"), [(e.reason, e.text) for e in res.edits]


def test_glued_dateline_prefix_is_trimmed(rules):
    text = "\n\n".join(["PORTVILLE (Northwire) - " + BODY[0], *BODY[1:]])
    res = _clean(text, rules)
    assert res.text.split("\n\n")[0] == BODY[0]
    assert [e.reason for e in res.edits] == ["dateline"]


def test_site_rules_are_opt_in_and_apply_to_their_source_only(tmp_path):
    """One site's text is no default: configs/sites/<source>.toml applies
    when the run configuration names it, to that source alone."""
    from cleaners.boilerplate import Boilerplate

    line = BODY[4] + " ■"
    text = "\n\n".join([*BODY[:4], line])
    assert load_config().ruleset().sites == {}
    cfg_path = tmp_path / "newsclean.toml"
    cfg_path.write_text(f'[boilerplate]\nrules = "{(DATA.parent.parent / "configs" / "rules.toml").as_posix()}"\n'
                        'site_rules = ["sites/goloadup.com.toml"]\n', encoding="utf-8")
    rules = load_config(cfg_path).ruleset()
    chain = Boilerplate(rules, ("sections", "rules"), None)
    mine = chain.strip(text, TITLE, "goloadup.com")
    other = chain.strip(text, TITLE, "harborgazette.com")
    assert mine.text.endswith(BODY[4]) and [e.reason for e in mine.edits] == ["end_mark"]
    assert other.text.endswith(line) and other.edits == []


def test_upper_case_dateline_needs_capitals(rules):
    line = "Two hostages — both aid workers — were freed on Tuesday, officials said."
    res = _clean("\n\n".join([line, *BODY]), rules)
    assert res.text.startswith(line)
    res = _clean("\n\n".join(["BERLIN — " + BODY[0], *BODY[1:]]), rules)
    assert res.text.startswith(BODY[0])


def test_trailing_related_section_goes_whole(rules):
    teasers = ["Other stories you might like", "Harbor pool reopens after repairs", "School bus audit finds gaps"]
    res = _clean("\n\n".join([*BODY, *teasers]), rules)
    assert res.text == "\n\n".join(BODY)
    assert [e.reason for e in res.edits] == ["related"] * 3


def test_title_line_matches_page_title_with_site_name(rules):
    head = "Portville ferry fares to rise as harbor board backs new fleet"
    res = strip_boilerplate("\n\n".join([head, *BODY]), title=head + " | The Harbor Gazette", rules=rules)
    assert res.text == "\n\n".join(BODY)
    assert res.edits[0].reason == "title"
    assert is_title_line("Classificação NASCAR", "Classificação NASCAR | Autoracing | F1")
    assert not is_title_line("The harbor board backs the fare rise", head)


def test_every_edit_has_reason_and_position(rules):
    res = _clean(_article("Share this article", "tail").replace(BODY[0], "March 11, 2024\n\n" + BODY[0]), rules)
    assert res.edits and all(e.reason and re.fullmatch(r"(in )?line \d+", e.detail) for e in res.edits)


# ---------------------------------------------------------------- learned lines


def _observe(stats: SourceLineStats, source: str, body: list[str], extra: list[str]) -> None:
    stats.observe(source, [*body, *extra])


def test_line_recurring_across_articles_of_a_source_is_learned():
    stats = SourceLineStats(min_articles=3, min_share=0.2)
    footer = "Ledger tip line: our desk reads every message."
    for k in range(4):
        _observe(stats, "ledger", [BODY[k]], [footer])
    assert line_key(footer) in stats.boilerplate("ledger")
    assert stats.boilerplate("other-site") == frozenset()


def test_copies_of_one_article_do_not_make_boilerplate():
    stats = SourceLineStats(min_articles=3, min_share=0.2)
    for _ in range(6):  # the same story fetched six times from one site
        _observe(stats, "ledger", BODY, ["Share this article"])
    assert stats.boilerplate("ledger") == frozenset()


def test_quote_shared_across_sources_is_not_learned():
    stats = SourceLineStats(min_articles=3, min_share=0.2)
    quote = "“We have put this off for a decade,” the board chair said."
    for k, src in enumerate(["ledger", "gazette", "courier", "observer"]):
        _observe(stats, src, [BODY[k]], [quote])
    for src in ("ledger", "gazette", "courier", "observer"):
        assert line_key(quote) not in stats.boilerplate(src)


def test_learned_statistics_merge_exactly_in_any_order():
    """Two runs' statistics merged, in either order, learn what one run over
    both learns: a footer seen in two articles by each run (four in all, past
    min_articles = 3) is learned only together; the same story seen by both
    runs still counts once."""
    footer = "Ledger tip line: our desk reads every message."
    first, second, whole = (SourceLineStats(min_articles=3, min_share=0.2) for _ in range(3))
    for k, stats in ((0, first), (1, first), (1, second), (2, second), (3, second)):
        _observe(stats, "ledger", [BODY[k]], [footer] if k < 3 else [])
    for k in range(4):
        _observe(whole, "ledger", [BODY[k]], [footer] if k < 3 else [])
    assert line_key(footer) not in first.boilerplate("ledger")
    ab, ba = SourceLineStats(3, 0.2), SourceLineStats(3, 0.2)
    ab.merge(first), ab.merge(second), ba.merge(second), ba.merge(first)
    assert ab.learned_pairs() == ba.learned_pairs() == whole.learned_pairs()
    assert line_key(footer) in ab.boilerplate("ledger")


def test_learned_lines_are_removed_with_their_reason(rules):
    footer = "Ledger tip line: our desk reads every message."
    res = strip_boilerplate("\n\n".join([*BODY, footer]), title=TITLE, rules=rules, learned=frozenset({line_key(footer)}))
    assert footer not in res.text and [e.reason for e in res.edits] == ["learned"]


# ---------------------------------------------------------------- whole pages


def test_whole_page_text_is_cut_to_the_article(rules):
    menu = ["Home", "News", "Sport", "Business", "Weather", "Subscribe", "Sign in", "Local", "Opinion", "Obituaries"]
    teasers = ["Harbor pool reopens", "Bus audit finds gaps", "Library hours cut", "Rail strike ends", "Orchard frost"]
    footer = ["About us", "Contact", "Careers", "Terms", "Privacy"]
    page = "\n".join([*menu, TITLE, *BODY, *teasers, *footer])
    res = _clean(page, rules)
    assert res.text.split("\n") == BODY
    assert {e.reason for e in res.edits} <= {"page", "title", "share"}
    # Trimming a page is not gutting an article: the gate keeps it.
    art = Article(id="p", text=res.text, title=TITLE, edits=res.edits)
    assert gate(art, min_words=50) is None


def test_numbered_list_after_the_article_is_kept_with_it(rules):
    # A listicle: items are short lines ending no sentence, like a menu;
    # counting up from 1 they are the article's list.
    items = [f"{k}) {item}" for k, item in enumerate(
        ["Tide table wall chart", "Brass ship's bell", "Harbor ferry model kit", "Lighthouse night light",
         "Rope doorstop", "Knot tying cards", "Sea chart puzzle", "Deck shoes, navy"], start=1)]
    menu = ["Home", "News", "Sport", "Business", "Weather", "Local", "Opinion", "Obituaries"]
    footer = ["About us", "Contact", "Careers", "Terms", "Privacy", "Archive", "Help"]
    res = _clean("\n".join([*menu, *BODY, *items, *footer]), rules)
    assert res.text.split("\n") == [*BODY, *items]


def test_ordinary_article_is_not_treated_as_a_page(rules):
    lines = [*BODY, "Key dates", "June: fares rise", "2026: new ferries"]
    assert main_block(lines, list(range(len(lines))), rules.page) is None


# ---------------------------------------------------------------- off-topic


@functools.cache
def _bbc_stories() -> tuple[dict, ...]:
    """The BBC stories, each text once: the corpus has exact duplicates, and
    a story spliced into its twin is not off-topic."""
    rows = [json.loads(line) for line in shared("data", "bbc-news-2225", "bbc_news.jsonl").open(encoding="utf-8")]
    return tuple({r["text"]: r for r in rows}.values())


def _bbc(n_hosts: int, seed: int):
    uniq = _bbc_stories()
    rng = random.Random(seed)
    hosts = rng.sample([r for r in uniq if r["text"].count("\n\n") >= 2], 2 * n_hosts)
    return rng, uniq, hosts[:n_hosts], hosts[n_hosts:]


def test_offtopic_paragraph_spliced_from_another_bbc_story_is_removed(rules):
    rng, uniq, spliced_hosts, clean_hosts = _bbc(40, seed=11)
    hits = 0
    for host in spliced_hosts:
        donor = rng.choice([d for d in uniq if d["category"] != host["category"]])
        paras = host["text"].split("\n\n")
        insert = rng.choice(donor["text"].split("\n\n"))
        at = rng.randrange(1, len(paras))
        res = strip_boilerplate("\n\n".join(paras[:at] + [insert] + paras[at:]), title=host["title"], rules=rules)
        hits += any(e.reason == "offtopic" and e.text == insert for e in res.edits)
        assert all(p in res.text for p in paras), "a genuine paragraph of the host was removed"
    assert hits >= 0.75 * len(spliced_hosts)
    # Untouched articles: no paragraph may go as off-topic.
    removed = sum(1 for host in clean_hosts for e in strip_boilerplate(host["text"], title=host["title"], rules=rules).edits
                  if e.reason == "offtopic")
    paragraphs = sum(h["text"].count("\n\n") + 1 for h in clean_hosts)
    assert removed <= 0.02 * paragraphs


def test_teaser_spliced_into_short_web_article_is_removed_but_asides_stay(rules):
    teaser = ["Kestrel Rovers sign winger Fenwick on deadline day",
              "Kestrel Rovers have signed winger Dario Fenwick from Castleford Athletic for an undisclosed fee, the club confirmed."]
    aside = "Several residents who spoke at the meeting said they would rather pay more than lose the early morning crossing."
    text = "\n\n".join([BODY[0], BODY[1], "\n".join(teaser), BODY[2], aside, BODY[3]])
    res = _clean(text, rules)
    assert [e.text for e in res.edits if e.reason == "offtopic"] == teaser
    assert aside in res.text


# Paragraphs of several sentences (median above min_median_words): the
# lexical evidence is judged for every paragraph, not only teasers.
LONG_TITLE = "Portville harbor board backs ferry fare rise to pay for new fleet"
LONG = [
    "The Portville harbor board voted on Monday to raise ferry fares by 6 percent from June, saying the extra money "
    "will pay for two new vessels. Board chair Denise Okafor said the fleet could not wait another winter, and that "
    "the rise was the smallest that would cover the loan for the hulls.",
    "Commuters who cross the bay every day will pay about $1.10 more per week, according to figures the harbor staff "
    "presented at the meeting. Season tickets rise by the same share, and the board kept the discount for riders "
    "who travel before seven in the morning.",
    "Okafor's staff said the oldest ferry in the fleet is now 41 years old and spent more than 60 days out of "
    "service last year, most of them waiting for engine parts. Two crossings a day were cancelled for a month in "
    "the autumn, and the harbor paid for buses around the bay.",
    "A group of harbor residents asked the board to freeze ferry fares for students and pensioners. The board "
    "agreed to study the idea and said it would publish the cost of such a freeze before the fares rise in June, "
    "so that riders can see what it would mean.",
    "The new ferries are due to enter service in 2026, once the shipyard in Marlow finishes the hulls and the "
    "engines are tested on the bay. The board said the old vessels will be sold, and that the money will go "
    "towards the loan rather than to lower fares.",
]


def _scores(paras: list[str], title: str, rules):
    from cleaners.boilerplate import offtopic_scores

    lines = "\n\n".join(paras).split("\n")
    return {lines[s.lines[0]]: s for s in offtopic_scores(lines, title, rules.offtopic)}


def test_a_possessive_meets_its_name(rules):
    # "Okafor's" in the third paragraph is the board chair of the first: it
    # must count as shared (it used to become "okafor'" and look new).
    score = _scores(LONG, LONG_TITLE, rules)[LONG[2]]
    assert score.anchor == rules.offtopic.common_zipf  # a name shared: the strongest tie


def test_a_name_written_with_an_ampersand_is_a_word(rules):
    # "H&M", "M&S", "AT&T": the firm a business story is about; split at the
    # "&" it was two letters, too short to count, and the story's subject
    # was invisible.
    paras = [p.replace("the harbor paid", "H&M paid") for p in LONG]
    score = _scores(paras, "H&M opens its first store on the island", rules)[paras[2]]
    assert score.title_words == 1


def test_paragraph_sharing_only_everyday_words_is_offtopic(rules):
    # Shares "week", "winter", "money" and such by chance (more than the
    # main limit allows), but no name, no place, nothing of the story.
    insert = ("The band's third album sold more than 80,000 copies in its first week, the label said, and the money "
              "will fund a tour of stadiums this winter. Critics praised the singer's voice on the slower songs but "
              "found the production crowded, and radio stations have played the first single every morning since "
              "March.")
    text = "\n\n".join(LONG[:2] + [insert] + LONG[2:])
    res = strip_boilerplate(text, title=LONG_TITLE, rules=rules)
    assert [e.text for e in res.edits if e.reason == "offtopic"] == [insert]
    assert all(p in res.text for p in LONG)


def test_paragraph_that_names_the_story_stays(rules):
    # Little in common with the rest of the article, but it names the board
    # chair and carries on from the paragraph before it.
    aside = ("Okafor, who grew up on the island and still takes the early boat most days, said she had heard from "
             "dozens of riders since the plan was first published, and that she understood their worry about "
             "paying more for a crossing that is often late.")
    text = "\n\n".join(LONG[:1] + [aside] + LONG[1:])
    res = strip_boilerplate(text, title=LONG_TITLE, rules=rules)
    assert aside in res.text and not [e for e in res.edits if e.reason == "offtopic"]


def test_one_sentence_insert_sharing_nothing_goes_but_a_short_genuine_one_stays(rules):
    insert = "Telescope makers reported record orders for amateur astronomy gear."
    short = "The harbor board meets again in April to set the summer timetable."
    text = "\n\n".join(LONG[:2] + [insert] + LONG[2:4] + [short] + LONG[4:])
    res = strip_boilerplate(text, title=LONG_TITLE, rules=rules)
    assert [e.text for e in res.edits if e.reason == "offtopic"] == [insert]
    assert short in res.text


def test_the_lead_is_never_judged(rules):
    # A column that opens with an anecdote: the lead says what the piece is
    # about, there is nothing to judge it against.
    lead = ("The market, a retired minister once said, has no morality; traders who heard him laughed, and then went "
            "back to their screens. Nobody in the room remembers what the shares did that afternoon, but everyone "
            "remembers the line, and it is quoted in every speech about money.")
    res = strip_boilerplate("\n\n".join([lead] + LONG[1:]), title=LONG_TITLE, rules=rules)
    assert lead in res.text


def test_long_insert_in_long_web_style_article_goes_but_short_pieces_are_left_alone(rules):
    # One-sentence paragraphs (web style): only a long paragraph of a long
    # article that shares almost nothing is judged.
    insert = ("Telescope makers reported record orders for amateur astronomy gear this winter, as clear skies and a "
              "bright comet drew crowds to dark-sky parks across the region. Retailers said binoculars and tripods "
              "sold out within days of the comet appearing on evening news bulletins.")
    body = BODY + [
        "Harbor staff said the timetable will not change when the new fares begin in June.",
        "Riders can buy the discounted morning tickets from the machines on both piers.",
        "The board will publish the full ferry budget on the harbor website next week.",
        "Board members said the fare rise would be reviewed once both new vessels are in service.",
    ]
    long_article = body[:3] + [insert] + body[3:]
    res = _clean("\n\n".join(long_article), rules)
    assert [e.text for e in res.edits if e.reason == "offtopic"] == [insert]
    short_article = BODY[:2] + [insert] + BODY[2:4]
    res = _clean("\n\n".join(short_article), rules)
    assert insert in res.text


# ---------------------------------------------------------------- mostly furniture


def _gated(text: str, rules) -> tuple[str, str | None]:
    res = _clean(text, rules)
    art = Article(id="a", text=res.text, title=TITLE, edits=res.edits)
    return res.text, gate(art, min_words=0, max_furniture_share=0.8, min_sentences=2)


def test_a_page_of_nothing_but_furniture_is_no_article(rules):
    # Every line a rule matches but one short sentence: what is left is not
    # an article, so it is dropped with its reason, never kept whole.
    text = "\n\n".join(["By Priya Raman", "Share this article", "Read more: ferry fares", "Advertisement",
                         "The harbor board met today.", "Follow us on Twitter", "Privacy Policy", "Terms of Use",
                         "© 2024 Harbor Gazette"])
    left, verdict = _gated(text, rules)
    assert left == "The harbor board met today."
    assert verdict == "no_article"


def test_a_mostly_furniture_page_keeps_its_article(rules):
    # Four fifths of the words are teaser links, yet the five paragraphs
    # left are an article: it keeps its cleaned text.
    teasers = [f"Read more: {town} council weighs a new budget for the coming year" for town in
               ("Marlow", "Portville", "Eastbay", "Linden", "Harwick", "Oakmere", "Brookside", "Fairhaven")] * 6
    text = "\n\n".join(BODY[:3] + teasers + BODY[3:])
    left, verdict = _gated(text, rules)
    assert left.split("\n\n") == BODY
    assert verdict is None
    art = Article(id="a", text=left, edits=_clean(text, rules).edits)
    assert furniture_share(art) > 0.8  # the case the old valve kept whole


# ---------------------------------------------------------------- explain


@pytest.fixture(scope="module")
def seeds_run(run_flow, tmp_path_factory):
    out = tmp_path_factory.mktemp("explain")
    run_flow(shared("seeds"), out)
    return out


def test_explain_shows_removed_lines_with_reasons_beside_kept_text(seeds_run):
    from typer.testing import CliRunner

    from pipelines.cli import app

    doc = next(a for a in map(json.loads, (seeds_run / "articles.jsonl").open()) if a["id"].startswith("000"))
    result = CliRunner().invoke(app, ["explain", doc["id"], "--output", str(seeds_run), "--width", "200"])
    assert result.exit_code == 0, result.output
    out = result.output
    gov = out.index("Tamil Nadu Governor")
    assert "offtopic" in out[out.rindex("\n", 0, gov):gov]  # the reason stands on the removed line's row
    # Removed lines appear in their place: after the paragraph before them, before the one after.
    assert out.index("Jeanette Manfra") < gov < out.index("The ban follows charges")
    assert "kept" in out.splitlines()[0]


def test_explain_unknown_id_fails_cleanly(seeds_run):
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["explain", "no-such-id", "--output", str(seeds_run)])
    assert result.exit_code == 1 and "no article" in result.output


def test_explain_finds_duplicates_and_dropped_articles(tmp_path, rules):
    from pipelines.explain import find

    res = _clean("\n\n".join(["By Priya Raman", *BODY, "Share this article"]), rules)
    art = {"id": "gazette/ferry.txt", "title": TITLE, "text": res.text, "source": "gazette",
           "edits": [e.to_dict() for e in res.edits], "duplicates": [{"id": "ledger/ferry.txt", "similarity": 0.9}]}
    (tmp_path / "articles.jsonl").write_text(json.dumps(art) + "\n")
    (tmp_path / "dropped.jsonl").write_text(json.dumps({"id": "short.txt", "reason": "too_short", "detail": "12 words"}) + "\n")
    exp = find(tmp_path, "gazette/ferry.txt")
    assert exp.status == "kept"
    assert [(r.reason, r.removed or r.kept) for r in exp.rows] == [("byline", "By Priya Raman"), *(("", p) for p in BODY),
                                                                   ("share", "Share this article")]
    assert find(tmp_path, "ledger/ferry.txt").status == "duplicate of gazette/ferry.txt"
    dropped = find(tmp_path, "short.txt")
    assert dropped.status == "dropped: too_short" and dropped.detail == "12 words"
    with pytest.raises(KeyError):
        find(tmp_path, "nowhere.txt")


# ---------------------------------------------------------------- rules.toml is checked


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["settings"].update(edge_line=4), "unknown key(s) 'edge_line'"),
    (lambda r: r["line"][0].update(reasn="footer"), "unknown key(s) 'reasn'"),
    (lambda r: r["line"][0].update(reason="footers"), "reason 'footers' is not a registered removal reason"),
    (lambda r: r["line"][0].update(where="top"), "where = 'top'; allowed: any, head, tail, edge, first, last"),
    (lambda r: r["line"][0].update(max_words="30"), "max_words = '30': must be int"),
    (lambda r: r["line"][0].update(pattern="(unclosed"), "pattern does not compile"),
    (lambda r: r["offtopic"].update(max_relative="0.4"), "[offtopic] max_relative = '0.4': must be a number"),
    (lambda r: r["offtopic"].update(judge_lead="no"), "[offtopic] judge_lead = 'no': must be bool"),
    (lambda r: r["settings"].update(tail_share=1.5), "[settings] tail_share = 1.5: must be between 0.0 and 1.0"),
    (lambda r: r.update(sitez={}), "rules.toml: unknown key(s) 'sitez'"),
    (lambda r: r.setdefault("sites", {}).update({"example.com": {"lines": []}}), "[sites.'example.com']: unknown key(s) 'lines'"),
    (lambda r: r["section_end"][0].update(body_end=True), "body_end is only for [[line]] rules"),
    (lambda r: r["line"][0].update(in_body=True, body_end=True), "in_body and body_end exclude each other"),
])
def test_a_mistake_in_rules_toml_is_an_error_that_names_it(edit, message):
    import copy

    from cleaners.boilerplate import RuleSet, RulesError

    raw = copy.deepcopy(load_config().rules)
    edit(raw)
    with pytest.raises(RulesError) as err:
        RuleSet.from_config(raw)
    assert message in str(err.value)


def test_the_shipped_rules_load():
    rs = load_config().ruleset()
    assert rs.rules and rs.page is not None and rs.offtopic.stopwords


# --------------------------------------------------------------------------
# The body guard: no step takes prose of the article's main run.


@pytest.fixture(scope="module")
def long_bbc():
    """Real BBC stories of at least 14 paragraphs, every one of them prose
    (title, first 14 paragraphs)."""
    from cleaners.gates import is_prose

    rows = [json.loads(line) for line in shared("data", "bbc-news-2225", "bbc_news.jsonl").open(encoding="utf-8")]
    out = []
    for r in rows:
        paras = [p for p in r["text"].split("\n\n") if p.strip()][:14]
        if len(paras) == 14 and all(map(is_prose, paras)):
            out.append((r["title"], paras))
    return out[:6]


# What a paragraph dump of a news page has above the story.
MENU = ["Home", "News", "Sport", "Business", "Weather", "Sign in"]


@pytest.mark.parametrize("labels", [["Comment"], ["prev next", "comments"]], ids=["comment-label", "prev-next-comments"])
def test_a_section_label_near_the_top_never_takes_the_body(rules, long_bbc, labels):
    """The two real failures: a short label near the top of a page opened a
    trailing ``comments`` section and every paragraph after it went. With
    the menu above and two paragraphs of prose before the label, every other
    condition of a section cut holds (prose before it, within the tail
    share); only the body guard stops it."""
    assert long_bbc
    for title, paras in long_bbc:
        text = "\n\n".join([*MENU, *paras[:2], *labels, *paras[2:]])
        for given in (title, ""):
            res = strip_boilerplate(text, title=given, rules=rules, offtopic_threshold=None)
            kept = res.text.split("\n\n")
            assert [p for p in paras if p not in kept] == [], (title, [e.reason for e in res.edits])


def test_a_refused_cut_is_counted_and_a_cut_after_the_body_still_goes(rules, long_bbc):
    from cleaners.boilerplate import Boilerplate, Blocks

    title, paras = long_bbc[0]
    chain = Boilerplate(rules, ("sections",), None)
    b = Blocks("\n\n".join([*MENU, *paras[:2], "Comments", *paras[2:]]), title)
    chain.steps[0](b)
    assert b.refused["comments"] == 1 and not b.removed
    thread = ["Comments (2)", "jdoe1977", "I have been saying this for years and nobody in charge ever listens to us.",
              "Reply", "mk_harbor", "Same here, the fares keep rising while the service gets worse every winter."]
    b = Blocks("\n\n".join([*paras, *thread]), title)
    chain.steps[0](b)
    assert [b.lines[i] for i in sorted(b.removed)] == thread
    assert set(b.guards.values()) == {"after_body"}


def test_no_step_removes_body_prose_on_its_own_say(rules, long_bbc):
    """A step that would remove every line (the classifier at threshold 0,
    every line learned) takes only what is not prose of the main run; a
    whole-line convention marked in_body still goes."""
    from cleaners.boilerplate import Blocks

    title, paras = long_bbc[1]
    furniture = ["Share this story", "Image 3 of 15", "Most read"]
    b = Blocks("\n\n".join([furniture[0], *paras, *furniture[1:]]), title)
    for i in b.nonblank:
        b.remove(i, "classifier", "outside_body", 1.0)
    assert [b.lines[i] for i in sorted(b.removed)] == furniture
    assert b.refused["classifier"] == len(paras)
    learned = frozenset(line_key(p) for p in paras)
    res = strip_boilerplate("\n\n".join(paras), title=title, rules=rules, learned=learned, offtopic_threshold=None)
    assert [p for p in paras if p not in res.text] == []
    notice = "We use cookies to give you the best experience on our website, and by reading on you accept them."
    res = strip_boilerplate("\n\n".join([*paras[:5], notice, *paras[5:]]), title=title, rules=rules, offtopic_threshold=None)
    assert notice not in res.text and all(p in res.text for p in paras)
    # A rule below the in_body bar (0.99 on the training fold) keeps a
    # sentence-shaped credit among the paragraphs: a caption left costs
    # little, a sentence of the article taken costs the article.
    credit = "Reporting by Jane Mercer; Editing by Tom Halvorsen and the regional desk in London."
    res = strip_boilerplate("\n\n".join([*paras[:5], credit, *paras[5:]]), title=title, rules=rules, offtopic_threshold=None)
    assert credit in res.text and res.refused.get("trailer") == 1


def test_an_article_length_run_of_prose_is_body_beside_a_larger_one(long_bbc, monkeypatch):
    """A listing (restaurants, products) whose descriptions a block of card
    lines splits into two runs of prose: the second, under half the size of
    the first, is still article-length, and nothing scored takes it. The
    section's own lines (a run of city names) still go."""
    from cleaners.boilerplate import Blocks, blocks
    from cleaners.gates import word_count

    first = [p for _t, paras in long_bbc[:4] for p in paras]
    second = [p for _t, paras in long_bbc[4:6] for p in paras]
    cards = ["Popular cities", "All Cities", "Atlanta", "Austin", "Boston", "Charleston", "Chicago", "Denver"]
    text = "\n\n".join([*first, *cards, *second])
    words = sum(map(word_count, second))
    assert blocks.RUN_MIN_WORDS <= words < blocks.RUN_SHARE * sum(map(word_count, first))

    def everything_scored(b: Blocks) -> list[str]:
        for i in b.nonblank:
            b.remove(i, "classifier", "outside_body", 1.0)
        return [b.lines[i] for i in sorted(b.removed)]

    assert everything_scored(Blocks(text, long_bbc[0][0])) == cards
    monkeypatch.setattr(blocks, "RUN_MIN_WORDS", 10**9)  # half the largest run only: the second run goes
    assert everything_scored(Blocks(text, long_bbc[0][0])) == [*cards, *second]


def test_a_sign_off_goes_only_where_it_ends_the_body(rules, long_bbc):
    """Author contact and newsletter lines are sentences, so they sit inside
    the protected body; a body_end rule takes them where the article ends
    (furniture after them does not count as the article going on), and
    keeps the same line when the article's prose follows it."""
    title, paras = long_bbc[2]
    contact = "Email Dana Whitlock at dwhitlock@harborgazette.com or follow her on Twitter @danawhit."
    offer = "Get the day's top stories delivered to your inbox: sign up for our free morning newsletter."
    res = strip_boilerplate("\n\n".join([*paras, contact, offer, "Share this story"]), title=title, rules=rules,
                            offtopic_threshold=None)
    assert contact not in res.text and offer not in res.text and all(p in res.text for p in paras)
    assert {e.reason for e in res.edits} >= {"trailer", "subscribe"}
    for line in (contact, offer):
        res = strip_boilerplate("\n\n".join([*paras[:6], line, *paras[6:]]), title=title, rules=rules,
                                offtopic_threshold=None)
        assert line in res.text and sum(res.refused.values()) == 1, [(e.reason, e.text) for e in res.edits]


def test_offtopic_check_that_would_take_most_of_a_page_takes_nothing(rules):
    """A page of paragraphs from several stories (a digest, a directory) has
    no one topic, and the check can find half of it "off-topic". A splice is
    a paragraph or two, so beyond a third of the page it has misread the page
    and keeps every paragraph."""
    from cleaners.boilerplate import is_offtopic, offtopic_scores

    uniq = _bbc_stories()
    rng = random.Random(0)
    paras = [max(rng.choice(uniq)["text"].split("\n\n"), key=len) for _ in range(4)]
    text = "\n\n".join(paras)
    found = [i for sc in offtopic_scores(text.split("\n"), "", rules.offtopic) if is_offtopic(sc, rules.offtopic, 0.14)
             for i in sc.lines]
    assert sum(len(text.split("\n")[i].split()) for i in found) > len(text.split()) / 3  # what the check finds
    res = strip_boilerplate(text, rules=rules)
    assert not [e for e in res.edits if e.reason == "offtopic"]
    assert all(p in res.text for p in paras)


def _insert_went_alone(rules, host: dict, text: str, insert: str) -> bool:
    """Clean the host story with ``insert`` spliced in; when the insert went,
    it went as off-topic, alone, and every paragraph of the host stayed."""
    res = strip_boilerplate(text, title=host["title"], rules=rules)
    if insert in res.text:
        return False
    assert [e.text for e in res.edits if e.reason == "offtopic"] == [insert]
    assert all(p in res.text for p in host["text"].split("\n\n"))
    return True


def test_one_spliced_paragraph_goes_even_when_it_is_a_third_of_a_short_story(rules):
    """Stories of three or four long paragraphs (bbc-news-2225 merges a
    story's lines) with the longest paragraph of a story of another category
    inserted after the lead: the insert is a third of the text or more. One
    paragraph found is a splice's shape (a misread page shows as several),
    so it goes while it is at most half of what is kept, alone. (How often a
    host paragraph is taken instead is the benchmark's figure, not this
    test's.)"""
    uniq = _bbc_stories()
    rng = random.Random(5)
    removed = 0
    for host in rng.sample(uniq, 400):
        paras = host["text"].split("\n\n")
        if not 3 <= len(paras) <= 4:
            continue
        donor = rng.choice([d for d in uniq if d["category"] != host["category"]])
        insert = max(donor["text"].split("\n\n"), key=len)
        text = "\n\n".join([paras[0], insert, *paras[1:]])
        if not 1 / 3 < len(insert.split()) / len(text.split()) <= 1 / 2:
            continue
        removed += _insert_went_alone(rules, host, text, insert)
    assert removed >= 20


def test_a_spliced_paragraph_naming_one_title_word_by_chance_goes(rules):
    """Two stories of one section share a word of the headline by chance
    ("film", "market"): a paragraph of the other story that names it but
    shares next to nothing else with the article is still a splice, and goes
    alone; the host's paragraphs stay."""
    from cleaners.boilerplate import offtopic_scores

    uniq = _bbc_stories()
    rng = random.Random(9)
    removed = 0
    for host in rng.sample(uniq, len(uniq)):
        paras = host["text"].split("\n\n")
        donor = rng.choice([d for d in uniq if d["category"] == host["category"] and d["id"] != host["id"]])
        insert = rng.choice(donor["text"].split("\n\n"))
        text = "\n\n".join([paras[0], insert, *paras[1:]])
        scores = {s.index: s for s in offtopic_scores(text.split("\n"), host["title"], rules.offtopic)}
        if 1 not in scores or scores[1].title_words != 1:
            continue
        removed += _insert_went_alone(rules, host, text, insert)
    assert removed >= 10


def _splice_run(boilerplate, cases) -> tuple[int, int]:
    """(inserts removed as off-topic, genuine paragraphs removed as
    off-topic: the hosts' own with the insert in, and every paragraph of the
    untouched hosts)."""
    res = boilerplate.strip_many([(text, host["title"], "bbc", frozenset()) for host, _, text, _ in cases])
    hits = sum(any(e.reason == "offtopic" and e.text == insert for e in r.edits) for r, (*_, insert) in zip(res, cases))
    lost = sum(1 for r, (_, paras, _, _) in zip(res, cases) for p in paras if p not in r.text)
    untouched = boilerplate.strip_many([(host["text"], host["title"], "bbc", frozenset()) for host, *_ in cases])
    return hits, lost + sum(1 for r in untouched for e in r.edits if e.reason == "offtopic")


def test_the_learned_offtopic_decision_takes_more_splices_and_fewer_genuine_paragraphs_than_the_rules(rules):
    """The shipped off-topic model ([boilerplate] offtopic_model, as a run
    loads it) decides full-size paragraphs; the rules decide the rest, and
    every paragraph without it. On 200 real BBC stories, each with a
    paragraph of a story of another category spliced in, and the same
    stories untouched: it removes more inserts than the rules alone, and
    fewer genuine paragraphs."""
    from cleaners.boilerplate import Boilerplate
    from pipelines.stages import _offtopic_model

    model = _offtopic_model(load_config(None))
    assert model is not None
    uniq = _bbc_stories()
    rng = random.Random(23)
    cases = []
    for host in rng.sample([r for r in uniq if r["text"].count("\n\n") >= 2], 200):
        donor = rng.choice([d for d in uniq if d["category"] != host["category"]])
        paras = host["text"].split("\n\n")
        insert = rng.choice(donor["text"].split("\n\n"))
        at = rng.randrange(1, len(paras))
        cases.append((host, paras, "\n\n".join(paras[:at] + [insert] + paras[at:]), insert))
    paragraphs = 2 * sum(len(paras) for _, paras, _, _ in cases)
    hits, genuine = _splice_run(Boilerplate(rules, ("offtopic",), 0.14, None, model), cases)
    rule_hits, rule_genuine = _splice_run(Boilerplate(rules, ("offtopic",), 0.14), cases)
    assert hits >= 0.85 * len(cases) and genuine <= 0.005 * paragraphs
    assert hits > rule_hits and genuine < rule_genuine


def test_the_offtopic_check_never_takes_the_article_from_whole_page_text_with_furniture_left(rules, long_bbc):
    """Whole-page text has no blank lines: what the steps before leave splits
    it into "paragraphs". An untitled page whose article run is followed by
    menus and another story's paragraphs, two at a time (a related-stories
    strip: together more words than the article, each under half of it), made
    the article the one paragraph that shares nothing with the rest of the
    page, and the smaller part of it: it went as off-topic, all of it. The
    share guards measure against the article's body, so it stays."""
    from cleaners.boilerplate import Boilerplate
    from pipelines.stages import _offtopic_model

    menu = ["Home", "News", "Sport", "Business", "Weather", "Contact us", "Log in"]
    # The rules alone, and the learned decision as a run loads it.
    for model in (None, _offtopic_model(load_config(None))):
        stripper = Boilerplate(rules, ("offtopic",), 0.14, None, model)
        for (_, article), (_, other) in itertools.permutations(long_bbc, 2):
            strip = ["\n".join(menu + other[i:i + 2]) for i in range(0, len(other), 2)]
            text = "\n\n".join(["\n".join(menu), "\n".join(article), *strip])
            kept = stripper.strip(text, "", "web").text
            assert all(p in kept for p in article)


def test_a_run_without_the_offtopic_model_leaves_every_decision_to_the_rules():
    from pipelines.stages import _offtopic_model

    assert _offtopic_model(load_config(None).with_overrides(boilerplate={"offtopic_model": False})) is None
    assert _offtopic_model(load_config(None).with_overrides(boilerplate={"offtopic_max_shared": False})) is None


@pytest.mark.parametrize("first", ["Skip to main content", "Home", "Share", "Subscribe", "Updated", "*"])
def test_an_untitled_page_that_opens_with_furniture_gets_no_furniture_for_a_headline(rules, long_bbc, first):
    """Whole-page text without a title opens with the site's furniture. A
    title escapes every later step, so a first line that a rule takes is not
    the headline: it stays in the body, where the rules remove it, and every
    paragraph stays. A headline on the first line is still the title."""
    from cleaners.chain import Chain
    from cleaners.repair import repair_text

    title, paras = long_bbc[3]
    chain = Chain(rules)
    art = Article(id="x", text="\n\n".join([first, title, *paras]))
    chain.prepare(art)
    assert art.title == ""
    chain.strip(art)
    assert first not in art.text.split("\n") and all(repair_text(p)[0] in art.text for p in paras)
    art = Article(id="y", text="\n\n".join([title, *paras]))
    chain.prepare(art)
    assert art.title == title


@pytest.mark.parametrize("first", ["https://www.bbc.co.uk/news/business-12345678", "www.example.com/news/2019/05/story"])
def test_an_untitled_record_that_opens_with_its_address_gets_no_link_for_a_headline(long_bbc, first):
    """Scrapers print the page's address above the text; a bare link is no
    headline, so the record keeps no title rather than a URL for one."""
    from cleaners.chain import split_title

    title, paras = long_bbc[3]
    assert split_title("\n\n".join([first, title, *paras])) == ("", "\n\n".join([first, title, *paras]))
    assert split_title("\n\n".join([title, *paras]))[0] == title


def test_a_related_box_inside_the_article_cuts_nothing_a_trailing_one_still_goes(rules, long_bbc):
    """A section opener cuts only after the body, never across it: a
    "Related stories" box with the article going on after it (a run of
    its prose as long as half the main run) opens no trailing section.
    The same box after the last paragraph, with its teaser links, goes."""
    title, paras = long_bbc[2]
    split = [*paras[:9], "Related stories", *paras[9:]]
    res = strip_boilerplate("\n\n".join(split), title=title, rules=rules, offtopic_threshold=None)
    assert all(p in res.text for p in paras)
    assert res.refused.get("related", 0) >= 1
    teasers = ["Fans queue overnight for tickets", "Markets close higher on Friday", "Weather: rain moves east"]
    trailing = [*paras, "Related stories", *teasers]
    res = strip_boilerplate("\n\n".join(trailing), title=title, rules=rules, offtopic_threshold=None)
    assert all(p in res.text for p in paras) and not any(t in res.text for t in teasers)
