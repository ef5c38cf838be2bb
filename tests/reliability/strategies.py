"""Hypothesis strategies for what a client can send an endpoint: bodies, Content-Types, Accepts.

Bodies mix plausible payloads (CSV, JSON, JSON Lines, libsvm with the odd bad token) with
plain noise and a few shapes that break naive parsers: deep nesting, integers too large for a
float, bodies just under and over the 6 MiB limit.
"""

from __future__ import annotations

import json
import math

from hypothesis import strategies as st

from .conftest import MAX_PAYLOAD_BYTES, NUM_FEATURES

# Content types as clients really send them: exact, other case, with parameters, aliases,
# unsupported, empty and absent (None).
CONTENT_TYPES = [
    "text/csv",
    "text/csv; charset=utf-8",
    "Text/CSV",
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/jsonlines",
    "application/x-jsonlines",
    "application/json-lines",
    "text/libsvm",
    "text/x-libsvm",
    "application/x-recordio-protobuf",
    "application/x-npy",
    "text/plain",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
    ";",
    "",
    None,
]
ACCEPTS = [
    "text/csv",
    "application/json",
    "application/jsonlines",
    "application/x-jsonlines",
    "text/*",
    "application/*",
    "*/*",
    "text/html",
    "application/x-recordio-protobuf",
    "text/html, application/json;q=0.9",
    "application/xml,text/csv",
    ", ,",
    "",
    None,
]

# Printable latin-1 without CR/LF: anything an HTTP client can put in a header value.
_HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
    max_size=80,
)
content_types = st.one_of(st.sampled_from(CONTENT_TYPES), _HEADER_TEXT)
accepts = st.one_of(st.sampled_from(ACCEPTS), _HEADER_TEXT)

# Cell values: numbers of every shape, missing markers, junk.
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "-1e999", "1e-400", "0x10", "1_000"]),
)
_junk = st.one_of(
    st.sampled_from(["", " ", "abc", "3x", "1..2", "--1", "e", ".", "null", "true", "\x00"]),
    st.text(max_size=6),
)
_cells = st.one_of(_numbers, _numbers, _numbers, _junk)


@st.composite
def csv_bodies(draw: st.DrawFn) -> str:
    rows = draw(st.integers(1, 8))
    lines = []
    for _ in range(rows):
        width = draw(st.sampled_from([NUM_FEATURES, NUM_FEATURES, NUM_FEATURES + 1, 1, 0, 7]))
        lines.append(
            draw(st.sampled_from([",", ", ", ";", "\t"])).join(
                draw(st.lists(_cells, min_size=width, max_size=width))
            )
        )
    newline = draw(st.sampled_from(["\n", "\r\n", "\n\n", "\r"]))
    return (
        draw(st.sampled_from(["", " ", "\n"]))
        + newline.join(lines)
        + draw(st.sampled_from(["", "\n", "\r\n", " \n "]))
    )


def _json_leaves() -> st.SearchStrategy[object]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=5),
    )


_json_values = st.recursive(
    _json_leaves(),
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(
            st.sampled_from(["instances", "features", "x", "inputs", ""]), children, max_size=3
        ),
    ),
    max_leaves=30,
)
_rows = st.lists(
    st.lists(_json_leaves(), min_size=0, max_size=NUM_FEATURES + 2), min_size=0, max_size=5
)


@st.composite
def json_bodies(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["instances", "rows", "flat", "features", "any"]))
    if shape == "instances":
        value: object = {"instances": draw(st.one_of(_rows, _json_values))}
    elif shape == "rows":
        value = draw(_rows)
    elif shape == "flat":
        value = draw(st.lists(_json_leaves(), max_size=NUM_FEATURES + 2))
    elif shape == "features":
        value = {"features": draw(st.one_of(st.lists(_json_leaves(), max_size=6), _json_values))}
    else:
        value = draw(_json_values)
    text = json.dumps(value)  # NaN / Infinity tokens included: Python clients send them
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] if draw(st.booleans()) else text[:cut] + draw(st.text(max_size=3))
    return text


@st.composite
def jsonlines_bodies(draw: st.DrawFn) -> str:
    lines = draw(st.lists(json_bodies(), min_size=0, max_size=4))
    return draw(st.sampled_from(["\n", "\r\n", "\n\n"])).join(lines)


_libsvm_tokens = st.one_of(
    st.builds(
        lambda i, v: f"{i}:{v}",
        st.one_of(st.integers(-3, NUM_FEATURES + 3), st.integers(), st.sampled_from(["a", ""])),
        st.one_of(_numbers, _junk),
    ),
    _junk,
    _numbers,
)


@st.composite
def libsvm_bodies(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        tokens = draw(st.lists(_libsvm_tokens, max_size=6))
        lines.append(draw(st.sampled_from([" ", "  ", "\t"])).join(tokens))
    return draw(st.sampled_from(["\n", "\r\n", "\n\n"])).join(lines)


@st.composite
def adversarial_bodies(draw: st.DrawFn) -> str:
    """Shapes that break parsers rather than validators."""
    kind = draw(st.sampled_from(["deep-list", "deep-object", "huge-int", "long-number", "nul"]))
    depth = draw(st.sampled_from([64, 1_000, 5_000, 100_000]))
    if kind == "deep-list":
        return "[" * depth + "1" + "]" * depth
    if kind == "deep-object":
        return '{"instances":' * depth + "[1]" + "}" * depth
    if kind == "huge-int":
        digits = draw(st.sampled_from([40, 310, 400, 5_000]))
        row = ["1"] * NUM_FEATURES
        row[draw(st.integers(0, NUM_FEATURES - 1))] = "9" * digits
        return draw(st.sampled_from(['{{"instances": [[{}]]}}', "[[{}]]", "[{}]"])).format(
            ",".join(row)
        )
    if kind == "long-number":
        return ",".join(["1." + "1" * 10_000] * NUM_FEATURES)
    return "1,2\x00,3,4"


class Body(bytes):
    """A request body whose repr stays short, so a failing 6 MiB example prints readably."""

    def __repr__(self) -> str:
        head = bytes(self[:60])
        return f"Body({head!r}{'...' if len(self) > 60 else ''}, {len(self)} bytes)"

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(repr(self))  # type: ignore[attr-defined]


@st.composite
def sized_bodies(draw: st.DrawFn) -> bytes:
    """A valid-looking CSV body of a chosen size around the 6 MiB limit."""
    size = draw(
        st.one_of(
            st.integers(MAX_PAYLOAD_BYTES - 64, MAX_PAYLOAD_BYTES + 64),
            st.integers(MAX_PAYLOAD_BYTES + 1, MAX_PAYLOAD_BYTES * 2),
            st.integers(1, 4096),
        )
    )
    row = b"0.5,1.5,-2.0,3.25\n"
    return Body((row * (size // len(row) + 1))[:size])


def _encode(text: str) -> bytes:
    return Body(text.encode("utf-8", "surrogatepass"))


_noise = st.one_of(
    st.binary(max_size=512).map(Body),
    st.text(max_size=200).map(_encode),
    adversarial_bodies().map(_encode),
)
# Per request format: bodies of that shape, and the Content-Types that announce it.
_FORMATS = {
    "csv": (
        st.one_of(csv_bodies().map(_encode), sized_bodies()),
        ["text/csv", "text/csv; charset=utf-8", "Text/CSV"],
    ),
    "json": (
        st.one_of(json_bodies().map(_encode), json_bodies().map(_encode), _noise),
        ["application/json", "application/json; charset=utf-8", None, ""],
    ),
    "jsonlines": (
        st.one_of(jsonlines_bodies().map(_encode), _noise),
        ["application/jsonlines", "application/x-jsonlines", "application/json-lines"],
    ),
    "libsvm": (
        st.one_of(libsvm_bodies().map(_encode), _noise),
        ["text/libsvm", "text/x-libsvm"],
    ),
    "other": (st.one_of(_noise, sized_bodies()), CONTENT_TYPES),
}
_GOOD_ACCEPTS = [None, "*/*", "text/csv", "application/json", "application/jsonlines"]


@st.composite
def client_requests(draw: st.DrawFn) -> tuple[bytes, str | None, str | None]:
    """(body, Content-Type, Accept): mostly a body with the type that announces it, so the
    parsers behind each type see most of the cases, sometimes any body with any header."""
    body_strategy, types = _FORMATS[draw(st.sampled_from(sorted(_FORMATS)))]
    body = draw(body_strategy)
    matching = st.sampled_from(types)
    content_type = draw(st.one_of(matching, matching, matching, content_types))
    accept = draw(
        st.one_of(st.sampled_from(_GOOD_ACCEPTS), st.sampled_from(_GOOD_ACCEPTS), accepts)
    )
    return body, content_type, accept


def valid_rows(rows: int) -> st.SearchStrategy[list[list[float]]]:
    finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)
    return st.lists(
        st.lists(finite, min_size=NUM_FEATURES, max_size=NUM_FEATURES),
        min_size=rows,
        max_size=rows,
    )


def format_rows(rows: list[list[float]], fmt: str) -> str:
    """Valid payloads in each supported request format (repr round-trips float32 values)."""
    if fmt == "text/csv":
        return "\n".join(",".join(repr(v) for v in row) for row in rows)
    if fmt == "application/json":
        return json.dumps({"instances": rows})
    if fmt == "application/jsonlines":
        return "\n".join(json.dumps(row) for row in rows)
    if fmt == "text/libsvm":
        return "\n".join(
            "0 " + " ".join(f"{i}:{v!r}" for i, v in enumerate(row) if not math.isnan(v))
            for row in rows
        )
    raise ValueError(fmt)
