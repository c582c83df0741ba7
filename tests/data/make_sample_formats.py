"""Writes the HTML, WARC and crawler-JSON part of the sample in raw/ (our own
invented news, like the rest of the sample). Deterministic: record ids,
dates and gzip headers are fixed, so rerunning it rewrites the same bytes.

    .venv/bin/python tests/data/make_sample_formats.py

* raw/lakeside-times/: three pages: one UTF-8, one that declares UTF-8 in
  its <meta> but is windows-1252 (detection must win), one gzipped;
* raw/crawls/coast-crawl-2024-03-15.warc.gz: warcinfo, a request, three
  article responses (one a syndicated copy of the Portville water-rates
  story), an image, a 404 page, a revisit, and one record whose gzip member
  is damaged (quarantined; the records after it are still read);
* raw/feeds/crawler-2024-03-15.jsonl: news-please style records, one with
  both ``html`` and ``text``, one with ``html`` only.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

RAW = Path(__file__).resolve().parents[2] / "raw"


def page(title: str, site: str, paragraphs: list[str], *, charset: str = "utf-8", published: str = "",
         author: str = "", caption: str = "", related: list[str] = ()) -> str:
    body = "\n".join(f"      <p>{p}</p>" for p in paragraphs)
    fig = f'      <figure><img src="/img/lead.jpg" alt=""><figcaption>{caption}</figcaption></figure>\n' if caption else ""
    rel = "".join(f'        <li><a href="/story/{i}">{r}</a></li>\n' for i, r in enumerate(related))
    meta = (f'  <meta name="author" content="{author}">\n' if author else "") + (
        f'  <meta property="article:published_time" content="{published}">\n' if published else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="{charset}">
  <title>{title} | {site}</title>
  <meta property="og:title" content="{title}">
  <meta property="og:site_name" content="{site}">
{meta}</head>
<body>
  <header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a> <a href="/subscribe">Subscribe</a></nav></header>
  <main>
    <article>
      <h1>{title}</h1>
      <p class="byline">By {author or "Staff"}</p>
{fig}{body}
    </article>
    <aside><h2>More from {site}</h2>
      <ul>
{rel}      </ul>
    </aside>
  </main>
  <footer><p>&copy; 2024 {site}. All rights reserved.</p> <a href="/privacy">Privacy</a> <a href="/cookies">Cookie settings</a></footer>
</body>
</html>
"""


SOLAR = page(
    "Pemberton library finishes its solar roof two months early", "Lakeside Times",
    ["The Pemberton public library switched on 212 rooftop solar panels on Thursday, two months ahead of the schedule the town council approved last autumn.",
     "Head librarian Marisol Quint said the panels should cover about 70 percent of the building's electricity in summer and close to a third in the dark months, saving the town roughly $18,000 a year.",
     "The project cost $236,000, most of it paid by a state grant for public buildings. A volunteer group, the Pemberton Sun Circle, raised the remaining $31,000 through bake sales and a sponsored swim across Lake Arden.",
     "“People kept asking when the roof would be finished, so we put a live meter in the lobby,” Quint said. The meter shows how much power the panels produce and how many homes that would supply.",
     "The council will decide in May whether to fit panels on the fire station and the community pool next."],
    published="2024-03-14", author="Ines Harrow", caption="Volunteers on the library roof. Photo: Tom Brandt",
    related=["Lake Arden swim raises record sum", "Council debates parking fees", "Weekend weather: rain clears by Sunday"])

MARKET = page(
    "Old market hall reopens with 40 stalls and a café", "Lakeside Times",
    ["After three years of repairs, Pemberton’s old market hall reopened on Saturday with 40 stalls, a bakery and a small café run by students of the catering school.",
     "The Victorian hall had been closed since a storm tore part of its glass roof in 2021. Engineers found that the iron frame was sound, so the town kept the original structure and replaced only the glazing and the floor.",
     "Stallholders pay €12 a day, or €200 a month for a permanent pitch. Market manager Oskar Lindqvist said every permanent pitch was taken within a week of the council opening applications.",
     "“Half the traders are from within five kilometres,” Lindqvist said. “That was the whole point: a place where the cheese, the bread and the flowers come from people you can talk to.”",
     "The hall opens Wednesday to Sunday from eight until three."],
    published="2024-03-16", author="Ines Harrow",
    related=["Catering students win regional prize", "Roadworks on Quay Street until April"])

FERRY = page(
    "Spring ferry timetable adds an evening crossing to Gull Island", "Lakeside Times",
    ["The lake ferry will run a fourth daily crossing to Gull Island from April 1, leaving Pemberton pier at 19:40 and returning at 20:30, the ferry company said on Friday.",
     "Islanders have asked for a later boat for years, saying the last crossing at 17:15 forced anyone working in town to leave early or stay overnight. About 300 people live on Gull Island all year.",
     "The company will test the extra crossing until the end of September and keep it if it carries at least 25 passengers a night on average. Fares stay at $4.50 for adults and $2 for children.",
     "Cyclists will be able to book one of eight bicycle spaces on the evening boat through the company's website."],
    published="2024-03-15", author="Dev Anand")

DUNES = page(
    "Volunteers plant 3,000 metres of dune fencing before the spring tides", "Northshore Herald",
    ["More than 150 volunteers spent Saturday driving chestnut posts into the dunes at Calder Bay, building about 3,000 metres of fencing to trap wind-blown sand before the high spring tides.",
     "The bay lost nearly four metres of dune width in the January storms, according to surveys by the county coastal office. The fences slow the wind at ground level so sand settles and marram grass can take root.",
     "Coastal officer Priya Laskaris said earlier fences at the north end of the bay had rebuilt a metre of dune in two years. “It is slow, cheap and it works, as long as people keep off the fenced areas,” she said.",
     "Dog walkers are asked to use the marked paths between the fences until the grass is established in the autumn."],
    published="2024-03-15", author="Ruth Okonkwo", caption="Volunteers at Calder Bay. Photo: Northshore Herald",
    related=["Harbour dredging delayed", "Lifeguard recruitment opens"])

TIDES = page(
    "New tide gauge at Calder pier sends readings every minute", "Northshore Herald",
    ["A new tide gauge on Calder pier began sending water-level readings every minute this week, replacing a float gauge that had recorded the tide on paper charts since 1962.",
     "The radar instrument, bought by the harbour board for $48,000, measures the distance to the water surface and publishes the readings online. Fishermen and the lifeboat crew had asked for live readings after a boat grounded on the bar in November.",
     "Harbour master Colm Ferris said the old gauge would stay in place for a year so the two records can be compared. The paper charts, more than 22,000 of them, will go to the county archive.",
     "The board hopes to add a wave sensor to the pier next winter if a grant application succeeds."],
    published="2024-03-14", author="Ruth Okonkwo")

# A syndicated copy of the sample's Portville water-rates story (our own text in
# raw/harbor-gazette/portville-water-rates.txt), as a second site ran it.
WATER = page(
    "Portville water authority approves rate rise to fund lead pipe replacement", "Coastline Weekly",
    ["PORTVILLE (Northwire) - The Portville Water Authority board voted 5-2 on Monday to raise household water rates by 9 percent over two years, saying the money is needed to replace roughly 6,400 lead service lines that still run beneath older neighborhoods.",
     "The increase will add about $4.80 to a typical monthly bill starting in July, with a second, smaller step the following spring. Customers enrolled in the authority’s low-income discount program will be exempt from the first increase.",
     "“We have put this off for a decade, and the pipes did not get any younger while we waited,” board chair Denise Okafor said before the vote. She said the authority had applied for state grants but could not count on them arriving in time.",
     "The two dissenting members, Rafael Ibsen and Carol Whitlock, argued that the authority should first sell an unused pumping station on the east bank, which an outside appraiser valued at close to $3 million last year.",
     "Several residents who spoke during the public comment period said they supported replacing the pipes but questioned why commercial customers would see a smaller percentage increase than households. Authority staff said larger users already pay a higher base charge.",
     "Crews are expected to begin digging in the Millbrook and Shipyard districts in August. The authority said it will notify affected homes by mail at least three weeks before work begins on their street."],
    published="2024-03-11", author="Northwire",
    related=["Shipyard residents ask for faster street repairs", "Tide tables for March"])

LOST = page(
    "Harbour board delays dredging of the inner basin", "Northshore Herald",
    ["The harbour board has postponed dredging the inner basin until October after the only bid it received came in at twice the budget."] * 3)

NOT_FOUND = "<!DOCTYPE html><html><head><title>Page not found</title></head><body><h1>404</h1><p>Sorry, that page does not exist.</p></body></html>"

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


def _gzip(data: bytes) -> bytes:
    # mtime 0: the same bytes on every run.
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
        fh.write(data)
    return buf.getvalue()


def warc_record(rec_type: str, uri: str | None, n: int, payload: bytes, content_type: str, extra: dict | None = None) -> bytes:
    headers = {"WARC-Type": rec_type, "WARC-Record-ID": f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>",
               "WARC-Date": "2024-03-15T06:00:%02dZ" % n, **({"WARC-Target-URI": uri} if uri else {}), **(extra or {}),
               "Content-Type": content_type, "Content-Length": str(len(payload))}
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + payload + b"\r\n\r\n"


def http(status: str, ctype: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def main() -> None:
    site = RAW / "lakeside-times"
    site.mkdir(parents=True, exist_ok=True)
    (site / "library-solar-roof.html").write_text(SOLAR, encoding="utf-8")
    # Declares UTF-8, is windows-1252: the bytes are not UTF-8, so detection decides.
    (site / "market-hall-reopens.htm").write_bytes(MARKET.encode("cp1252"))
    (site / "ferry-timetable.html.gz").write_bytes(_gzip(FERRY.encode("utf-8")))

    resp = "application/http; msgtype=response"
    herald = "https://www.northshore-herald.example/news/2024/03/15"
    records = [
        warc_record("warcinfo", None, 1, b"software: newsclean sample writer\r\nformat: WARC File Format 1.1\r\n", "application/warc-fields"),
        warc_record("request", f"{herald}/dune-fencing", 2, b"GET /news/2024/03/15/dune-fencing HTTP/1.1\r\nHost: www.northshore-herald.example\r\n\r\n",
                    "application/http; msgtype=request"),
        warc_record("response", f"{herald}/dune-fencing", 3, http("200 OK", "text/html; charset=utf-8", DUNES.encode()), resp),
        warc_record("response", "https://www.northshore-herald.example/img/dunes.png", 4, http("200 OK", "image/png", PNG), resp),
        warc_record("response", "https://coastline-weekly.example/2024/03/11/portville-water-rates", 5,
                    http("200 OK", "text/html; charset=utf-8", WATER.encode()), resp),
        warc_record("response", f"{herald}/harbour-dredging", 6, http("200 OK", "text/html; charset=utf-8", LOST.encode()), resp),
        warc_record("response", "https://www.northshore-herald.example/old-page", 7, http("404 Not Found", "text/html", NOT_FOUND.encode()), resp),
        warc_record("revisit", f"{herald}/dune-fencing", 8, http("200 OK", "text/html; charset=utf-8", b""), resp,
                    {"WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"}),
        warc_record("response", f"{herald}/tide-gauge", 9, http("200 OK", "text/html; charset=utf-8", TIDES.encode()), resp),
    ]
    members = [_gzip(r) for r in records]
    # Damage the dredging record (a disk error in the crawler's archive):
    # bytes in the middle of its compressed data are overwritten.
    bad = bytearray(members[5])
    mid = len(bad) // 2
    bad[mid : mid + 16] = bytes(16)
    members[5] = bytes(bad)
    crawls = RAW / "crawls"
    crawls.mkdir(parents=True, exist_ok=True)
    (crawls / "coast-crawl-2024-03-15.warc.gz").write_bytes(b"".join(members))

    feed = [
        {"id": "np-0315-001", "url": "https://lakeside-times.example/2024/03/15/ferry-timetable", "source": "lakeside-times",
         "title": "Spring ferry timetable adds an evening crossing to Gull Island", "published": "2024-03-15",
         "html": FERRY,
         "text": "The lake ferry will run a fourth daily crossing to Gull Island from April 1."},
        {"id": "np-0315-002", "url": "https://www.northshore-herald.example/news/2024/03/14/tide-gauge", "html": TIDES},
    ]
    (RAW / "feeds" / "crawler-2024-03-15.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in feed), encoding="utf-8")


if __name__ == "__main__":
    main()
