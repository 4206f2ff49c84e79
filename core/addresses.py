"""Reading place names out of addresses and free-text city fields, as pure string work.

A query (``city``, ``state``, ``country``, ``address`` of one record) becomes a ranked list of
:class:`Candidate` names to look up, each with the country and first-level subdivision it
must lie in, plus the subdivision and country to fall back on. The forms understood:

- Web of Science ``C1``/``RP`` addresses: ``Org, Dept, City, ST ZIP USA``,
  ``..., Beijing 100084, Peoples R China``, ``..., London SW7 2AZ, England``,
  ``..., 75005 Paris, France``, ``..., Tokyo 1138654, Japan``; country words such as
  ``Peoples R China``, ``U Arab Emirates``, ``North Ireland``; a place written before its
  country word overrides it (``Hong Kong, Peoples R China`` is HK);
- Scopus affiliations (``Dept, Univ, City, Country``) and patent person addresses (street
  first, postal code beside the city, ``Chiyoda-ku, Tokyo 100-8310``);
- city fields of deal tables: abbreviations (``Mt``, ``St``, ``Ft``), qualifiers
  (``Downtown``, ``NW``, ``North``), ``City, State`` in one field, ward suffixes (``-ku``).

Segments (split at commas) are read from the right: the country word, then subdivision names
or codes, then the most specific place first. Segments naming an organisation or a street
are tried after the others and never cut into word n-grams.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_CHARS = 200
"""Names are cut to this many characters before anything else."""
MAX_ADDRESS_CHARS = 400
"""Addresses keep their last this many characters."""

# Origins of a candidate, which the geocoder turns into its method. AREA_CITY: the name of
# a subdivision or territory, looked up outside it, where only a large city counts.
CITY, CITY_VARIANT, ADDRESS, NGRAM, AREA_CITY = 0, 1, 2, 3, 4

_NON_WORD_RE = re.compile(r"[\W_]+")
_APOSTROPHES = "'\u2019\u02bc\u02bb`\u00b4"
_ASCII_APOSTROPHES = str.maketrans({"'": None, "`": None})
_FOLD = str.maketrans(
    {
        **{c: None for c in range(0x30000) if unicodedata.combining(chr(c))},
        **{ord(a): None for a in _APOSTROPHES},
        **{
            ord(k): v
            for k, v in {
                "ø": "o",
                "đ": "d",
                "ł": "l",
                "æ": "ae",
                "œ": "oe",
                "þ": "th",
                "ð": "d",
                "ı": "i",
                "ħ": "h",
                "ŧ": "t",
                "ŋ": "n",
                "ĸ": "k",
                "ŀ": "l",
            }.items()
        },
    }
)
"""Combining marks and apostrophes dropped; Latin letters NFKD leaves alone, spelled out."""


def _normalize_str(text: str) -> str:
    if text.isascii():
        text = text[:MAX_CHARS].lower().translate(_ASCII_APOSTROPHES)
        if text.replace(" ", "").isalnum():
            return " ".join(text.split())
        return _NON_WORD_RE.sub(" ", text).strip()
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS]).casefold().translate(_FOLD)
    return _NON_WORD_RE.sub(" ", text).strip()


def normalize_name(text: object) -> str:
    """Case-folded, accent-free, punctuation-collapsed form of ``text`` ("" if none).

    Non-Latin letters are kept as they are (see :func:`transliterate_key`).
    """
    if isinstance(text, str):
        return _normalize_str(text)
    if text is None or text != text:  # None or NaN
        return ""
    try:
        text = str(text)
    except Exception:  # noqa: BLE001 - bad input never crashes
        return ""
    return _normalize_str(text)


def transliterate_key(key: str) -> str:
    """``key`` (already normalised) transliterated to ASCII with ``unidecode``."""
    if key.isascii():
        return key
    from unidecode import unidecode

    return normalize_name(unidecode(key))


# --------------------------------------------------------------------------- word lists


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that make a postal code, not a place ("75005 Paris Cedex 05", "CEP 01246").
POSTAL_WORDS = frozenset(
    {"cedex", "cep", "zip", "postcode", "pin", "bp", "cp", "po", "pob", "box", "postfach"}
)
# Abbreviations of deal tables and WoS, with what they may stand for.
ABBREVIATIONS: Mapping[str, tuple[str, ...]] = {
    "mt": ("mount", "mountain"),
    "mtn": ("mountain",),
    "st": ("saint", "sankt", "santa"),
    "ste": ("sainte",),
    "sta": ("santa",),
    "sto": ("santo",),
    "ft": ("fort",),
    "pt": ("point", "port"),
    "hts": ("heights",),
    "hgts": ("heights",),
    "spgs": ("springs",),
    "spg": ("springs",),
    "bch": ("beach",),
    "vlg": ("village",),
    "twp": ("township",),
    "jct": ("junction",),
    "ctr": ("center",),
    "isl": ("island",),
    "lk": ("lake",),
    "pk": ("park",),
    "stn": ("station",),
    "so": ("south",),
    "no": ("north",),
    "n": ("north",),
    "s": ("south",),
    "e": ("east",),
    "w": ("west",),
    "nyc": ("new york city",),
    "sf": ("san francisco",),
    "la": ("los angeles",),
}
# Words that qualify a place without naming another ("Downtown Seattle", "NW Atlanta").
LEADING_QUALIFIERS = _words(
    """
    downtown uptown midtown greater metro central north south east west northern southern
    eastern western n s e w ne nw se sw old inner outer city of
    """
)
TRAILING_QUALIFIERS = (
    ("bay", "area"),
    ("metro", "area"),
    ("metropolitan", "area"),
    ("area",),
    ("metro",),
    ("region",),
    ("downtown",),
    ("city",),
    ("town",),
    ("proper",),
    ("centre",),
    ("center",),
)
# Ward, district and municipality suffixes of East Asian and other addresses.
PLACE_SUFFIXES = _words(
    """
    ku shi cho machi mura gun gu si dong eup myeon qu xian zhen district dist prefecture ken
    municipality township
    """
)
# Words that say what kind of subdivision a name is ("Guangdong Sheng", "Tokyo-to").
SUBDIVISION_WORDS = _words(
    """
    sheng shi zizhiqu province provincia provincie prefecture state estado region regione
    oblast krai kray okrug republic respublika ken to fu do teukbyeolsi gwangyeoksi
    teukbyeoljachido teukbyeoljachisi sar land bundesland canton kanton county department
    departement governorate voivodeship wojewodztwo autonomous community comunidad
    principality special administrative metropolitan territory of de the
    """
)


def strip_generic(words: list[str]) -> list[str]:
    """A subdivision's name without the words that say what kind it is ("" if only those)."""
    lo, hi = 0, len(words)
    while lo < hi and words[lo] in SUBDIVISION_WORDS:
        lo += 1
    while hi > lo and words[hi - 1] in SUBDIVISION_WORDS:
        hi -= 1
    return words[lo:hi] if lo < hi else []


# Words that make a place a ward or district of a city ("Bunkyo Ku, Tokyo").
WARD_WORDS = _words("ku gu qu district dist ward borough arrondissement")
# Organisations' words that also make place names (College Park, University City).
PLACE_NAME_ORG_WORDS = _words("college university station stn center")
# Words of organisations and streets: segments holding them are tried last and never cut
# into n-grams ("Harvard Univ" must not find Harvard, Illinois).
ORGANISATION_WORDS = _words(
    """
    univ university universite universitat universitaet universidad universidade universita
    universiteit uniwersytet dept department dep inst institute institut instituto istituto
    hosp hospital hopital lab labs laboratory laboratories laboratoire sch school coll
    college ctr center centre fac faculty div division grad acad academy natl national res
    research med clin clinic inc ltd llc corp co gmbh ag sa srl spa bv nv plc kk company
    foundation fdn assoc association soc society program programme unit grp group minist
    ministry agcy agency off office sect section key engn engineering sci science sciences
    technol technology polytech polytechnic hlth health serv service services council museum
    observatory trust bank board corporation enterprises holdings partners ventures capital
    centro faculdade facultad escuela escola departamento dipartimento laboratorio clinica
    fundacion fundacao fondazione consiglio consejo scuola ecole hochschule fachhochschule
    klinikum klinik akademie stiftung gesellschaft zentrum forschungszentrum politecnico
    cnrs inserm csic infn cnr inra inrae cea umr ird cnpq embrapa sezione
    """
)
STREET_WORDS = _words(
    """
    street str strasse rd road ave avenue av avenida blvd boulevard dr drive ln lane way
    pkwy parkway hwy highway rue via viale calle carrera rua weg platz allee laan straat
    gatan vej chome ban ro gil lu jie dao suite floor fl bldg building room rm plaza sq
    square ct court terrace ter cir circle campus bloco apt unit
    piazza piazzale largo corso strada carrer avda travessa praca ulica ul ulitsa prospekt
    chaussee alle vei gade katu utca gasse damm ring chemin impasse quai cours allee
    """
)


# Words that may end an address without naming a place in it.
NON_PLACE_TAILS = frozenset({"eu", "europe", "european union", "asia", "africa", "email", "tab"})
# City-states and their city: the country names the city ("..., Singapore").
CITY_STATES: Mapping[str, str] = {
    "SG": "singapore",
    "HK": "hong kong",
    "MO": "macau",
    "MC": "monaco",
    "VA": "vatican city",
    "SM": "san marino",
    "GI": "gibraltar",
}
# Words that tie a place to the name before it ("University of Queensland"): a place
# right after them is part of an organisation's name, not where it is.
LINKING_WORDS = _words("of de do da das dos du di der des del della at and en van von zu")
# Words that are no place on their own, whatever small village bears the name.
GENERIC_WORDS = _words(
    """park hill hills lake city town village center centre north south east west new old
    beach valley river bay port point heights springs station main"""
)
# Territories that addresses write before their sovereign's country word ("Hong Kong,
# Peoples R China"); other country names there are cities ("Benin, Nigeria").
TERRITORIES: Mapping[str, tuple[str, ...]] = {
    "CN": ("HK", "MO", "TW"),
    "GB": ("JE", "GG", "IM", "GI", "BM", "KY", "VG", "TC", "FK", "MS", "AI", "SH"),
    "FR": ("RE", "GP", "MQ", "GF", "YT", "NC", "PF", "PM", "WF", "BL", "MF"),
    "US": ("PR", "GU", "VI", "AS", "MP"),
    "NL": ("AW", "CW", "SX", "BQ"),
    "DK": ("GL", "FO"),
    "NO": ("SJ",),
    "AU": ("NF", "CX", "CC"),
    "NZ": ("CK", "NU", "TK"),
}


# --------------------------------------------------------------------------- parse


@dataclass(frozen=True)
class Candidate:
    """One name to look up: ``key`` (normalised), inside ``country`` (ISO alpha-2, "" for
    anywhere) and ``state`` (normalised admin-1 key, "" for anywhere). Lower ``rank`` wins."""

    key: str
    rank: int
    country: str
    state: str
    origin: int


@dataclass
class ParsedPlace:
    """What a query names: candidates best first, and what to fall back on."""

    candidates: list[Candidate] = field(default_factory=list)
    fuzzy: Candidate | None = None
    """The most specific name, for typo-tolerant matching (a known country is needed)."""
    state: tuple[str, str] | None = None
    """(country, admin-1 key) named by the query: the fallback when no place is found."""
    country: str | None = None
    """The country named by the query (field or address): the last fallback."""
    bad_country: bool = False
    """A country was given but is not one: nothing is guessed."""


@dataclass(frozen=True)
class PlaceWords:
    """The names :func:`parse_place` recognises (built by the geocoder's index)."""

    countries: Mapping[str, tuple[str, str]]
    """Normalised country name, code or country word -> (ISO alpha-2, admin-1 key or "");
    ``england`` -> ("GB", "eng")."""
    states: Mapping[tuple[str, str], str]
    """(country, normalised subdivision name or code) -> admin-1 key."""
    state_countries: Mapping[str, tuple[str, ...]]
    """Normalised subdivision *name* (not code) -> the countries that have it."""


_HYPHEN_POSTCODE = re.compile(r"\b[A-Za-z]{1,3}-(?=\d)")  # "D-80333", "CH-8092", "BR-38400"
_DUTCH_POSTCODE = re.compile(r"\b(\d{4})\s?[A-Z]{2}\b")  # "1012 AB Amsterdam"
_SPLIT = re.compile(r"[,;|/\n\t()\[\]]+|\s+-\s+")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9&.\-]{1,9}( [A-Z][A-Z0-9&.\-]{1,9}){0,3}$")
ACRONYM = 2
_US_ZIP = re.compile(r"^\d{5}$|^\d{9}$|^\d{3,4}$")


def _tokens(segment: str) -> list[str]:
    """Normalised words of one raw segment; runs of single letters joined ("D.C." -> "dc")."""
    words = normalize_name(segment).split()
    if not any(len(w) == 1 for w in words):
        return words
    out: list[str] = []
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and len(words[j]) == 1 and words[j].isalpha():
            j += 1
        if j - i >= 2:
            out.append("".join(words[i:j]))
            i = j
        else:
            out.append(words[i])
            i += 1
    return out


@dataclass
class _Segment:
    words: list[str]
    postal: bool  # held a postal code or number
    zip5: bool  # held a US ZIP-like number
    kind: int = 0  # 0 place-like, 1 organisation or street, 2 acronym or stray letters
    postal_end: bool = False  # a postal code follows the words ("Univ Liverpool L69 7ZE")


_DIGIT = re.compile(r"\d")
_SEPARATOR = re.compile(r"[,;|/\n\t()\[\]]|\s-\s")
_ORGANISATION_OR_STREET = ORGANISATION_WORDS | STREET_WORDS


def _segments(text: object) -> list[_Segment]:
    if not isinstance(text, str) or not text.strip():
        return []
    # Addresses end with what matters (city, country): a long one loses its beginning.
    text = text[-MAX_ADDRESS_CHARS:]
    has_digit = _DIGIT.search(text) is not None
    if has_digit:
        text = _DUTCH_POSTCODE.sub(r"\1", _HYPHEN_POSTCODE.sub("", text))
    shouting = text.upper() == text
    parts = _SPLIT.split(text) if _SEPARATOR.search(text) else [text]
    out = []
    for part in parts:
        words = _tokens(part)
        if not words:
            continue
        if has_digit:
            digits = [_DIGIT.search(w) is not None for w in words]
            kept = [w for w, d in zip(words, digits, strict=True) if not d]
            zip5 = any(
                d and _US_ZIP.match(w) is not None for w, d in zip(words, digits, strict=True)
            )
        else:
            digits, kept, zip5 = [False] * len(words), words, False
        if not POSTAL_WORDS.isdisjoint(kept):
            kept = [w for w in kept if w not in POSTAL_WORDS]
        if not kept:
            continue
        kind = 0 if _ORGANISATION_OR_STREET.isdisjoint(kept) else 1
        if (len(kept) == 1 and len(kept[0]) <= 2 and kept[0].isascii()) or (
            not shouting and len(part) <= 44 and _ACRONYM.match(part.strip())
        ):
            kind = ACRONYM  # "CNRS", "(NIMH)", "N.W.": no place, but maybe a code
        postal = len(kept) < len(words)
        postal_end = False
        if postal:
            last_word = max(i for i, w in enumerate(words) if w in kept)
            # a postal code, not a house number ("Glasgow G12 8QQ", "Tokyo 1138654"; not
            # "A. Soltana 7")
            postal_end = any(
                d and (len(w) >= 4 or not w.isdigit())
                for w, d in zip(words[last_word + 1 :], digits[last_word + 1 :], strict=True)
            )
        out.append(_Segment(kept, postal, zip5, kind, postal_end))
    return out


def _country_suffix(
    words: list[str], countries: Mapping[str, tuple[str, str]]
) -> tuple[tuple[str, str], int] | None:
    """The country word at the end of ``words`` (longest first) and its length in words."""
    for n in range(min(4, len(words)), 0, -1):
        hit = countries.get(" ".join(words[-n:]))
        if hit is not None:
            return hit, n
    return None


def _state_named(country: str, words: list[str], pw: PlaceWords) -> str | None:
    """The admin-1 key ``words`` name in ``country``, as written or without the words of
    its kind ("Guangdong Province", "Hokkaido-ken")."""
    hit = pw.states.get((country, " ".join(words)))
    if hit is None and len(words) > 1:
        short = strip_generic(words)
        if short and len(short) < len(words):
            hit = pw.states.get((country, " ".join(short)))
    return hit


def _state_of(words: list[str], country: str, pw: PlaceWords) -> tuple[str, int] | None:
    """A subdivision of ``country`` at the end of ``words`` (longest first), and its length."""
    for n in range(min(4, len(words) - 1), 0, -1):
        hit = _state_named(country, words[-n:], pw)
        if hit is not None:
            return hit, n
    return None


def _strip_qualifiers(words: list[str]) -> list[list[str]]:
    """Shorter forms of a name: leading qualifiers, trailing qualifiers and suffixes off."""
    out = []
    lead = 0
    while lead < len(words) - 1 and words[lead] in LEADING_QUALIFIERS:
        lead += 1
    if lead:
        out.append(words[lead:])
    core = words[lead:]
    for tail in TRAILING_QUALIFIERS:
        n = len(tail)
        if len(core) > n and tuple(core[-n:]) == tail:
            out.append(core[:-n])
            break
    if len(core) > 1 and core[-1] in PLACE_SUFFIXES:
        out.append(core[:-1])
        out.append([*core[:-1], "city"])
    return out


def _expansions(words: list[str]) -> list[list[str]]:
    """Abbreviations spelled out ("mt view" -> "mount view", "mountain view"); at most 6."""
    slots = [(i, ABBREVIATIONS[w]) for i, w in enumerate(words) if w in ABBREVIATIONS]
    if not slots:
        return []
    out: list[list[str]] = [list(words)]
    for i, choices in slots[:3]:
        out = [[*v[:i], c, *v[i + 1 :]] for v in out for c in choices]
    return [" ".join(v).split() for v in out[:6]]


def name_variants(words: list[str]) -> list[str]:
    """``words`` as a key, then its spelled-out forms, then the shortened forms of both,
    distinct, best first ("e lansing": "east lansing" before "lansing")."""
    forms = [words, *_expansions(words)]
    seen: list[str] = []
    for variant in [*forms, *(short for form in forms for short in _strip_qualifiers(form))]:
        key = " ".join(variant)
        if key and key not in seen:
            seen.append(key)
    return seen


def _ngrams(
    words: list[str], *, suffix_only: bool = False, after_postal: bool = False
) -> list[str]:
    """1-4 word runs without organisation, street or generic words, rightmost and longest
    first. ``suffix_only``: only runs that end the words and follow an organisation or
    street word, not a linking word ("Institute of Astronomy Cambridge", "University of
    Colorado Boulder"; not "University of Queensland", unless a postal code follows:
    ``after_postal``, "University of Liverpool L69 7ZE")."""
    out = []
    for end in range(len(words), 0, -1):
        if suffix_only and end < len(words):
            break
        for n in (4, 3, 2, 1):
            start = end - n
            if start < 0:
                continue
            gram = words[start:end]
            if not _ORGANISATION_OR_STREET.isdisjoint(gram):
                continue
            if suffix_only and (
                start == 0
                or (words[start - 1] in LINKING_WORDS and not after_postal)
                or _ORGANISATION_OR_STREET.isdisjoint(words[:start])
            ):
                continue
            key = " ".join(gram)
            if len(key) >= 4 and key not in GENERIC_WORDS and key not in out:
                out.append(key)
    return out


@dataclass
class _Context:
    country: str  # "" unknown
    state: str  # "" unknown
    place_segments: list[_Segment]
    area_segments: list[_Segment]  # subdivisions and overriding countries: cities too?
    country_word: list[str]  # the country word read off the end, if any


def _read_right_end(
    segments: list[_Segment], country: str, state: str, pw: PlaceWords
) -> list[_Context]:
    """Interpretations of a segment list: country word, subdivisions, the places left.

    Usually one; a two-letter end that is both a country and a US state ("Palo Alto, CA")
    gives both readings, the more likely first.
    """
    readings: list[tuple[str, str, list[_Segment], list[str]]] = []
    while segments and " ".join(segments[-1].words) in NON_PLACE_TAILS:
        segments = segments[:-1]
    if segments:
        last = segments[-1]
        hit = _country_suffix(last.words, pw.countries)
        us_state = pw.states.get(("US", " ".join(last.words))) if not country else None
        if hit is not None and len(last.words) > hit[1]:
            # "MA 02115 USA", "ON M5S 1A8 Canada", "National University of Singapore
            # Singapore": a country word ends a segment after a postal code, a subdivision
            # or an organisation; "San Salvador" does not end in "Salvador".
            (iso, _), n = hit
            rest_words = last.words[:-n]
            if not (last.postal or last.kind or _state_named(iso, rest_words, pw) is not None):
                hit = None
        if hit is not None and (not country or hit[0][0] == country):
            (iso, admin1), n = hit
            rest = list(segments[:-1])
            if len(last.words) > n:
                rest.append(_Segment(last.words[:-n], last.postal, last.zip5, last.kind))
            word = (iso, admin1 or state, rest, last.words[-n:])
            if us_state is not None and len(last.words) == 1:
                us = ("US", us_state, list(segments[:-1]), [])
                readings += [us, word] if last.zip5 else [word, us]
            else:
                readings.append(word)
        elif us_state is not None and (last.zip5 or len(segments) > 1):
            readings.append(("US", us_state, list(segments[:-1]), []))
        elif hit is None and not country:
            # the country word a little before the end ("Burnaby, Canada, BC V5A 1S6")
            for k in range(len(segments) - 2, max(len(segments) - 4, -1), -1):
                found = pw.countries.get(" ".join(segments[k].words))
                if found is not None:
                    rest = segments[:k] + segments[k + 1 :]
                    readings.append((found[0], found[1] or state, rest, segments[k].words))
                    break
    if not readings:
        readings.append((country, state, list(segments), []))
    return [_read_subdivisions(iso, st, rest, pw, word) for iso, st, rest, word in readings]


def _read_subdivisions(
    country: str, state: str, segs: list[_Segment], pw: PlaceWords, country_word: list[str]
) -> _Context:
    """Subdivision segments and trailing subdivision words, right to left; a country word
    right before the country word ("Hong Kong, Peoples R China") overrides it."""
    places: list[_Segment] = []
    areas: list[_Segment] = []
    for i in range(len(segs) - 1, -1, -1):
        seg = segs[i]
        key = " ".join(seg.words)
        if not places and not areas and country_word and i == len(segs) - 1:
            other = pw.countries.get(key)
            if other is not None and other[0] in TERRITORIES.get(country, ()):
                country, state = other
                areas.append(seg)
                continue
        if not country and not places:
            owners = pw.state_countries.get(key, ())
            us = pw.states.get(("US", key))
            if us is not None and (seg.zip5 or len(owners) <= 1):
                # a US state, with its ZIP code or by name ("Boston, MA 02115")
                country, state = "US", state or us
                areas.append(seg)
                continue
            if len(owners) == 1:
                country, state = owners[0], state or pw.states[(owners[0], key)]
                areas.append(seg)
                continue
        if country:
            whole = _state_named(country, seg.words, pw)
            if whole is not None:
                state = state or whole
                areas.append(seg)
                continue
            tail = _state_of(seg.words, country, pw) if len(seg.words) > 1 and not places else None
            # A trailing code ("Sydney NSW", "Palo Alto CA") or a name before a postal code.
            # not "Ecatepec de Morelos": a name linked to the next word is one name
            if (
                tail is not None
                and seg.words[-tail[1] - 1] not in LINKING_WORDS
                and (len(" ".join(seg.words[-tail[1] :])) <= 3 or seg.postal)
            ):
                admin1, n = tail
                state = state or admin1
                areas.append(_Segment(seg.words[-n:], False, False))
                places.append(_Segment(seg.words[:-n], seg.postal, seg.zip5, seg.kind))
        places.append(seg)
    # The city carries the postal code; a name between it and the country is a county
    # ("Glasgow G12 8QQ, Lanark, Scotland").
    if len(places) > 1 and not places[0].postal and places[1].postal_end and places[1].kind == 0:
        places[0], places[1] = places[1], places[0]
    # A number away from the city is a house number: that segment is a street ("Piazzale
    # Aldo Moro 2, 00185 Rome"). Only the most specific place keeps its postal code.
    places = [
        _Segment(p.words, p.postal, p.zip5, max(p.kind, 1), p.postal_end) if i and p.postal else p
        for i, p in enumerate(places)
    ]
    return _Context(country, state, places, areas, country_word)


def _add_segment(out: ParsedPlace, seg: _Segment, ctx: _Context, origin: int, rank: int) -> int:
    """A segment's name and its variants as candidates; the next free rank."""
    for j, key in enumerate(name_variants(seg.words)):
        how = origin
        if origin == CITY and (j > 0 or seg.postal):
            how = ADDRESS if seg.postal and j == 0 else CITY_VARIANT
        out.candidates.append(Candidate(key, rank + j, ctx.country, ctx.state, how))
    return rank + 100


def _add_runs(out: ParsedPlace, runs: list[str], ctx: _Context, rank: int) -> int:
    for key in runs:
        out.candidates.append(Candidate(key, rank, ctx.country, ctx.state, NGRAM))
        rank += 1
    return rank


def _place_after_link(words: list[str]) -> str:
    """The 1-3 words ending an organisation's name after "of", "at" or "in" ("University of
    Leipzig"), if they hold no organisation or street word; "" if none."""
    for n in (3, 2, 1):
        if len(words) > n and words[-n - 1] in ("of", "at", "in", "de", "di", "do", "da"):
            tail = words[-n:]
            if _ORGANISATION_OR_STREET.isdisjoint(tail):
                return " ".join(tail)
    return ""


def parse_place(
    city: object, state: object, country: object, address: object, pw: PlaceWords
) -> ParsedPlace:
    """The ranked names one record's place fields hold.

    Parameters
    ----------
    city, state, country, address : object
        The record's fields as given (strings, None or NaN). ``country`` is an ISO code or
        a country name or word; ``state`` a subdivision name or code.
    pw : PlaceWords
        The country and subdivision names to recognise.
    """
    out = ParsedPlace()
    country_key = normalize_name(country)
    iso = ""
    field_state = ""
    if country_key:
        hit = pw.countries.get(country_key)
        if hit is None:
            out.bad_country = True
            return out
        iso, field_state = hit
    state_key = normalize_name(state)
    if state_key and iso:
        field_state = _state_named(iso, state_key.split(), pw) or field_state
    elif state_key and not iso:
        owners = pw.state_countries.get(state_key, ())
        us = pw.states.get(("US", state_key))
        if us is not None:
            iso, field_state = "US", us
        elif len(owners) == 1:
            iso = owners[0]
            field_state = pw.states[(iso, state_key)]

    city_segments = _segments(city)
    address_segments = _segments(address)
    # The address's end names the country and subdivisions for the city field too.
    contexts = _read_right_end(address_segments, iso, field_state, pw) if address_segments else []
    base_country = contexts[0].country if contexts else iso
    base_state = contexts[0].state if contexts else field_state
    city_contexts = (
        _read_right_end(city_segments, base_country, base_state, pw) if city_segments else []
    )

    rank = 0
    primary: Candidate | None = None
    plans = [(c, CITY) for c in city_contexts] + [(c, ADDRESS) for c in contexts]
    for ctx, origin in plans:
        specific = [s for s in ctx.place_segments if s.kind == 0]
        # Short segments with an organisation's word may be places ("College Park", "University
        # Pk"): before subdivisions, when nothing else is named.
        short = [
            s
            for s in ctx.place_segments
            if s.kind == 1 and len(s.words) <= 3 and not PLACE_NAME_ORG_WORDS.isdisjoint(s.words)
        ]
        early = specific or short[:1]
        for seg in early:
            rank = _add_segment(out, seg, ctx, origin, rank)
            if primary is None and seg.kind == 0:
                primary = Candidate(" ".join(seg.words), rank, ctx.country, ctx.state, origin)
        # Word runs of the most specific segment of an address, for addresses without
        # commas ("Hauptstr 5, 80333 Muenchen", "Otwock Warsaw"), within a known country;
        # of an organisation's name only the place that ends it.
        runs: list[str] = []
        places = ctx.place_segments
        places = [s for s in places if s.kind != ACRONYM]
        # not of a city field: "Lucas Heights" is no place called Lucas
        if places and ctx.country and (origin != CITY or places[0].postal):
            first = places[0]
            runs = _ngrams(first.words, suffix_only=first.kind == 1, after_postal=first.postal_end)
        if places and places[0].kind == 0:
            rank = _add_runs(out, runs, ctx, rank)
        # A subdivision or territory that is also a city ("Tokyo", "Rio de Janeiro", "Kita,
        # Osaka"); a city-state's city. Where nothing more specific is named, the city of
        # a subdivision's name may lie outside it (Lima, Buenos Aires, Washington); only a
        # large city counts there (see AREA_CITY), and also inside the subdivision when a
        # more specific place is named but not found ("Hitachi, Ltd., Tokyo").
        extra = [s.words for s in ctx.area_segments]
        if ctx.country in CITY_STATES:
            extra.append(CITY_STATES[ctx.country].split())
        if ctx.country_word and not ctx.place_segments and origin == CITY:
            extra.append(ctx.country_word)
        # the whole city field as one name is the city as written ("Paris", "Singapore")
        how = CITY if origin == CITY and len(city_segments) == 1 else ADDRESS
        for words_ in extra:
            key = " ".join(words_)
            if specific:
                out.candidates.append(Candidate(key, rank, ctx.country, ctx.state, AREA_CITY))
            else:
                out.candidates.append(Candidate(key, rank, ctx.country, ctx.state, how))
                out.candidates.append(Candidate(key, rank + 1, ctx.country, "", AREA_CITY))
            rank += 100
        # organisations' and streets' segments, as written, after the places
        for seg in ctx.place_segments:
            if seg.kind == 1 and seg not in early:
                rank = _add_segment(out, seg, ctx, origin, rank)
        if places and places[0].kind == 1:
            rank = _add_runs(out, runs, ctx, rank)
        # An organisation named after its large city, when nothing else places it
        # ("University of Leipzig, Germany"; "University of Washington" names a state
        # without a large city of its name, not Washington, DC).
        if places and places[0].kind == 1 and ctx.country and not specific:
            named = _place_after_link(places[0].words)
            # a subdivision's name: only its own large city ("University of Isfahan")
            inside = _state_named(ctx.country, named.split(), pw) if named else None
            if named and (inside is None or not ctx.state or inside == ctx.state):
                out.candidates.append(
                    Candidate(named, rank, ctx.country, inside or ctx.state, AREA_CITY)
                )
                rank += 100
    out.fuzzy = primary
    first = (city_contexts or contexts or [None])[0]
    country_named = first.country if first is not None else iso
    state_named = first.state if first is not None else field_state
    out.country = country_named or None
    if country_named and state_named:
        out.state = (country_named, state_named)
    return out
