"""Segment expressions: a small grammar of our own, read as data and never run as code.

A segment such as ``channel == 'app' and amount > 100`` comes from a command-line
option, a template parameter, an audit measure name, a complaint, or a column name in
a data file. None of these is trusted, so the text is never handed to ``eval``,
``DataFrame.query`` or numexpr: a hand-written tokenizer and recursive-descent parser
turn it into an immutable tree, and :func:`segment_mask` evaluates that tree with
vectorised pandas comparisons. The grammar::

    segment    := or ;  or := and (("or" | "|") and)* ;  and := not (("and" | "&") not)*
    not        := ("not" | "~") not | "(" or ")" | comparison
    comparison := operand [("in" | "not in") list | (compare operand)+]
    compare    := "==" | "!=" | "<" | "<=" | ">" | ">="
    list       := "[" [literal ("," literal)* [","]] "]"   (or the same in parentheses)
    operand    := column | literal
    column     := name | `back-quoted name` (a doubled `` ` `` inside is one back-quote)
    literal    := 'text' | "text" | 3 | -1.5 | 1e6 | True | False | None | null

A bare column is a condition only when it holds true/false. ``0 <= x < 1`` chains as in
Python. A comparison with a missing value is false (``x != 'a'`` leaves out rows where
``x`` is missing); ``x == None`` selects them. A literal is compared as the column's
kind: numbers with numbers (text columns are read as numbers, and text that is not a
number matches nothing), text with text, a date string with a datetime column.

Anything else (attribute access, calls, indexing, ``@`` variables, ``__`` names,
arithmetic, unknown columns) raises :class:`toolkit.InputError` with the position of
the offending token and how to write it instead. The module is long for one concern
because the tokenizer, the parser, the printer and the evaluator share one tree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Union

from toolkit._exceptions import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Segment", "format_value", "parse_segment", "quote_column", "segment_equals",
           "segment_mask"]

GRAMMAR = (
    "A segment is column names (bare, or back-quoted like `device type`) compared with "
    "literals ('text', 3, -1.5, True, None) by == != < <= > >= or in [...] / not in [...], "
    "joined by and, or, not (or &, |, ~) and parentheses; it is read as data, never run as code."
)
_KEYWORDS = {"and", "or", "not", "in", "True", "False", "true", "false", "None", "null"}
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NAME = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_COMPARE = ("==", "!=", "<=", ">=", "<", ">")
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_HEX = {"x": 2, "u": 4, "U": 8}
_SPACES_HINT = "Back-quote a column name with spaces or symbols: `device type` == 'tablet'."
_MISSING_HINTS = {"isna": "== None", "isnull": "== None", "notna": "!= None", "notnull": "!= None"}


# --- the tree -----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Column:
    """A column, by name."""

    name: str

    def __str__(self) -> str:
        return quote_column(self.name)


@dataclasses.dataclass(frozen=True)
class Literal:
    """A value: ``kind`` is part of equality, so ``1``, ``1.0`` and ``True`` differ."""

    kind: str  # "str", "int", "float", "bool" or "none"
    value: Any

    def __str__(self) -> str:
        return _format_literal(self.value)


Operand = Union[Column, Literal]  # noqa: UP007 - a runtime alias, read by isinstance


@dataclasses.dataclass(frozen=True)
class Compare:
    """``operands[0] ops[0] operands[1] ops[1] ...`` (a chain is the "and" of its pairs)."""

    operands: tuple[Operand, ...]
    ops: tuple[str, ...]

    def __str__(self) -> str:
        parts = [str(self.operands[0])]
        for op, right in zip(self.ops, self.operands[1:]):
            parts += [op, str(right)]
        return " ".join(parts)


@dataclasses.dataclass(frozen=True)
class Member:
    """``column in [values]`` or ``column not in [values]``."""

    column: Column
    values: tuple[Literal, ...]
    negated: bool

    def __str__(self) -> str:
        values = ", ".join(map(str, self.values))
        return f"{self.column} {'not in' if self.negated else 'in'} [{values}]"


@dataclasses.dataclass(frozen=True)
class Truth:
    """A bare column of true/false values."""

    column: Column

    def __str__(self) -> str:
        return str(self.column)


@dataclasses.dataclass(frozen=True)
class Not:
    operand: Node

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"not ({inner})" if isinstance(self.operand, (And, Or)) else f"not {inner}"


@dataclasses.dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(f"({p})" if isinstance(p, Or) else str(p) for p in self.parts)


@dataclasses.dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]

    def __str__(self) -> str:
        return " or ".join(str(p) for p in self.parts)


Node = Union[Compare, Member, Truth, Not, And, Or]  # noqa: UP007 - a runtime alias


@dataclasses.dataclass(frozen=True)
class Segment:
    """A parsed segment expression.

    ``str(segment)`` is the canonical text (names that need them back-quoted, strings
    in single quotes); parsing it again gives an equal ``Segment``. ``text`` is what was
    given and takes no part in equality.
    """

    tree: Node
    text: str = dataclasses.field(default="", compare=False)

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names the segment reads, in order of first mention."""
        return tuple(dict.fromkeys(c.name for c in _columns(self.tree)))

    def __str__(self) -> str:
        return str(self.tree)


def _columns(node: Node) -> Iterable[Column]:
    if isinstance(node, Compare):
        yield from (o for o in node.operands if isinstance(o, Column))
    elif isinstance(node, (Member, Truth)):
        yield node.column
    elif isinstance(node, Not):
        yield from _columns(node.operand)
    else:
        for part in node.parts:
            yield from _columns(part)


# --- text out -----------------------------------------------------------------------

def quote_column(name: Any) -> str:
    """``name`` as the grammar reads it: bare when a plain identifier, else back-quoted.

    >>> quote_column("device type")
    '`device type`'
    """
    name = str(name)
    if _ASCII_NAME.match(name) and name not in _KEYWORDS and "__" not in name:
        return name
    return "`" + name.replace("`", "``") + "`"


def _format_literal(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return repr(value)
    out = []
    for ch in str(value):
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "'" + "".join(out) + "'"


def _as_literal(value: Any) -> Literal:
    """A data value (numpy scalars and missing values included) as a literal."""
    if type(value).__name__ in ("datetime64", "timedelta64"):  # .item() may give an int
        import pandas as pd

        value = pd.Timestamp(value) if type(value).__name__ == "datetime64" else pd.Timedelta(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Literal("none", None)
    if isinstance(value, bool):
        return Literal("bool", value)
    if isinstance(value, int):
        return Literal("int", value)
    if isinstance(value, float) and math.isfinite(value):
        return Literal("float", value)
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return Literal("none", None)
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return Literal("str", str(value))


def format_value(value: Any) -> str:
    """A data value as a literal of the grammar (missing values as ``None``)."""
    return str(_as_literal(value))


def segment_equals(column: Any, value: Any) -> str:
    """The segment ``column == value``, safe for any column name and value.

    >>> segment_equals("device type", "tablet")
    "`device type` == 'tablet'"
    """
    return str(Compare((Column(str(column)), _as_literal(value)), ("==",)))


# --- text in ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str  # name, string, number, word (keywords), op, punct, end
    value: Any
    pos: int


class _Reader:
    """Tokenizer and recursive-descent parser over one text."""

    def __init__(self, text: str, names: tuple[str, ...] = ()) -> None:
        self.text = text
        self.names = names  # frame columns that may appear unquoted (longest first)
        self.tokens = self._tokenize()
        self.i = 0

    # errors
    def fail(self, pos: int, problem: str, fix: str = _SPACES_HINT) -> InputError:
        at = self.text[pos:pos + 24] + ("…" if len(self.text) > pos + 24 else "")
        where = f"at character {pos + 1} ({at!r})" if at else "at the end"
        return InputError(f"The segment {self.text!r} cannot be read: {problem} {where}. "
                          f"{GRAMMAR} {fix}")

    # tokenizer
    def _tokenize(self) -> list[_Token]:
        text, i, out = self.text, 0, []
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                out.append(_Token("end", None, i))
                return out
            token, i = self._token(i, out[-1] if out else None)
            out.append(token)

    def _operand_expected(self, prev: _Token | None) -> bool:
        if prev is None:
            return True
        if prev.kind == "punct":
            return prev.value in "([,"
        return prev.kind in ("op", "word") and prev.value in (
            *_COMPARE, "and", "or", "not", "in", "&", "|", "~")

    def _token(self, i: int, prev: _Token | None) -> tuple[_Token, int]:
        text, ch = self.text, self.text[i]
        if self.names and self._operand_expected(prev):
            for name in self.names:
                end = i + len(name)
                if text.startswith(name, i) and (end == len(text) or text[end] in " \t\n=!<>)]&|,"):
                    return _Token("name", name, i), end
        if ch == "`":
            return self._backquoted(i)
        if ch in "'\"":
            return self._string(i)
        if ch == "-" and self._operand_expected(prev) and _NUMBER.match(text, i + 1):
            token, end = self._number(i + 1)
            return _Token("number", -token.value, i), end
        if ch.isdigit() or (ch == "." and _NUMBER.match(text, i)):
            return self._number(i)
        match = _NAME.match(text, i)
        if match:
            return self._word(match.group(), i, match.end())
        for op in ("==", "!=", "<=", ">="):
            if text.startswith(op, i):
                return _Token("op", op, i), i + 2
        if ch in "<>&|~":
            return _Token("op", ch, i), i + 1
        if ch in "()[],":
            return _Token("punct", ch, i), i + 1
        raise self._bad_char(i)

    def _bad_char(self, i: int) -> InputError:
        ch = self.text[i]
        if ch == "@":
            return self.fail(i, "'@' names a Python variable, which a segment cannot use",
                             "Write the value itself: channel == 'app'.")
        if ch == ".":
            return self.fail(i, "attribute access ('.') is not allowed",
                             "If the dot belongs to a column name, back-quote it: `a.b` == 1.")
        if ch == "=":
            return self.fail(i, "'=' alone is not a comparison", "Write == to compare: channel == 'app'.")
        if ch in "+-*/%":
            return self.fail(i, f"arithmetic ({ch!r}) is not allowed",
                             "Compare a column with a value, such as amount > 10; back-quote a "
                             "column whose name holds the sign: `net-amount` > 10.")
        return self.fail(i, f"the character {ch!r} is not part of the grammar")

    def _backquoted(self, start: int) -> tuple[_Token, int]:
        text, i, chars = self.text, start + 1, list[str]()
        while i < len(text):
            if text[i] == "`":
                if text.startswith("``", i):
                    chars.append("`")
                    i += 2
                    continue
                if not chars:
                    raise self.fail(start, "an empty back-quoted name", "Put the column name "
                                    "between the back-quotes: `device type`.")
                return _Token("name", "".join(chars), start), i + 1
            chars.append(text[i])
            i += 1
        raise self.fail(start, "a back-quoted name is not closed",
                        "End it with a back-quote (write `` for a back-quote inside the name).")

    def _string(self, start: int) -> tuple[_Token, int]:
        text, quote, i = self.text, self.text[start], start + 1
        chars: list[str] = []
        while i < len(text):
            ch = text[i]
            if ch == quote:
                return _Token("string", "".join(chars), start), i + 1
            if ch == "\\":
                char, i = self._escape(i)
                chars.append(char)
                continue
            chars.append(ch)
            i += 1
        raise self.fail(start, "a quoted text is not closed", f"End it with {quote}.")

    def _escape(self, i: int) -> tuple[str, int]:
        code = self.text[i + 1:i + 2]
        if code in _ESCAPES:
            return _ESCAPES[code], i + 2
        width = _HEX.get(code)
        digits = self.text[i + 2:i + 2 + width] if width else ""
        if width and re.fullmatch(r"[0-9a-fA-F]+", digits) and len(digits) == width \
                and int(digits, 16) <= 0x10FFFF:
            return chr(int(digits, 16)), i + 2 + width
        raise self.fail(i, f"the escape '\\{code}' is unknown",
                        "Write \\\\ for a backslash, \\' or \\\" for a quote.")

    def _number(self, start: int) -> tuple[_Token, int]:
        match = _NUMBER.match(self.text, start)
        assert match is not None  # callers matched already
        raw, end = match.group(), match.end()
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_."):
            raise self.fail(start, f"the number {raw!r} runs into {self.text[end]!r}")
        value: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
        if not math.isfinite(value):
            raise self.fail(start, f"the number {raw!r} is out of range", "Write a smaller number.")
        return _Token("number", value, start), end

    def _word(self, word: str, start: int, end: int) -> tuple[_Token, int]:
        if word in _KEYWORDS:
            return _Token("word", word, start), end
        if "__" in word:
            raise self.fail(start, f"the name {word!r} holds '__', which is not allowed bare",
                            f"If it is a column, back-quote it: {quote_column(word + ' ')[:-2]}`.")
        rest = self.text[end:].lstrip()
        if rest.startswith("."):
            attr = _NAME.match(rest, 1)
            method = attr.group() if attr else ""
            if method in _MISSING_HINTS:
                fix = f"Write {word} {_MISSING_HINTS[method]} for missing values."
            elif method == "isin":
                fix = f"Write {word} in ['a', 'b']."
            else:
                fix = f"If the dot belongs to the column name, back-quote it: `{word}{rest.split()[0]}`."
            raise self.fail(len(self.text) - len(rest), "attribute access ('.') is not allowed", fix)
        if rest.startswith("("):
            raise self.fail(start, f"calling {word!r} is not allowed",
                            "A segment compares columns with values; it calls no function.")
        if rest.startswith("["):
            raise self.fail(start, f"indexing {word!r} is not allowed",
                            f"Compare the column itself: {word} == 'a', or {word} in ['a', 'b'].")
        return _Token("name", word, start), end

    # parser
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _take(self, kind: str, *values: Any) -> _Token | None:
        t = self.tok
        if t.kind == kind and (not values or t.value in values):
            self.i += 1
            return t
        return None

    def unexpected(self, expected: str) -> InputError:
        t = self.tok
        if t.kind == "end":
            return self.fail(t.pos, f"the text ends where {expected} was expected")
        if t.kind == "name" and self.i and self.tokens[self.i - 1].kind == "name":
            prev = self.tokens[self.i - 1]
            together = self.text[prev.pos:t.pos + len(str(t.value))]
            if t.value == "is":
                return self.fail(t.pos, "'is' is not a comparison", "Write == None or != None.")
            return self.fail(t.pos, f"two names in a row ({prev.value!r}, {t.value!r})",
                             f"Back-quote a column name with spaces: `{together}` == 'tablet'.")
        shown = self.text[t.pos:t.pos + 1] if t.kind in ("string", "name") else str(t.value)
        return self.fail(t.pos, f"{shown!r} is not allowed here ({expected} was expected)")

    def parse(self) -> Node:
        node = self._or()
        if self.tok.kind != "end":
            raise self.unexpected("and, or or the end")
        return node

    def _or(self) -> Node:
        parts = [self._and()]
        while self._take("word", "or") or self._take("op", "|"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else Or(_flat(parts, Or))

    def _and(self) -> Node:
        parts = [self._not()]
        while self._take("word", "and") or self._take("op", "&"):
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else And(_flat(parts, And))

    def _not(self) -> Node:
        if self._take("word", "not") or self._take("op", "~"):
            return Not(self._not())
        if self._take("punct", "("):
            node = self._or()
            if not self._take("punct", ")"):
                raise self.unexpected("')'")
            return node
        return self._comparison()

    def _comparison(self) -> Node:
        start = self.tok
        first = self._operand()
        if self._take("word", "in"):
            return self._member(first, start, negated=False)
        if self.tok.kind == "word" and self.tok.value == "not" and \
                self.tokens[self.i + 1].value == "in" and self.tokens[self.i + 1].kind == "word":
            self.i += 2
            return self._member(first, start, negated=True)
        operands, ops = [first], []
        while self.tok.kind == "op" and self.tok.value in _COMPARE:
            op_tok = self.tokens[self.i]
            self.i += 1
            operands.append(self._operand())
            self._check_pair(operands[-2], op_tok, operands[-1])
            ops.append(op_tok.value)
        if not ops:
            if isinstance(first, Literal):
                raise self.fail(start.pos, "a value alone is not a condition",
                                "Compare a column with it: channel == 'app'.")
            return Truth(first)
        return Compare(tuple(operands), tuple(ops))

    def _check_pair(self, left: Operand, op: _Token, right: Operand) -> None:
        if isinstance(left, Literal) and isinstance(right, Literal):
            raise self.fail(op.pos, "a comparison of two values names no column",
                            "Compare a column with a value: amount > 10.")
        none = any(isinstance(o, Literal) and o.kind == "none" for o in (left, right))
        if none and op.value not in ("==", "!="):
            raise self.fail(op.pos, f"None (missing) cannot be compared with {op.value}",
                            "Write == None for missing values, != None for present ones.")

    def _operand(self) -> Operand:
        t = self.tok
        if self._take("name"):
            return Column(t.value)
        literal = self._literal()
        if literal is None:
            raise self.unexpected("a column or a value")
        return literal

    def _literal(self) -> Literal | None:
        t = self.tok
        if self._take("string"):
            return Literal("str", t.value)
        if self._take("number"):
            return Literal("float" if isinstance(t.value, float) else "int", t.value)
        if self._take("word", "True", "true", "False", "false"):
            return Literal("bool", t.value in ("True", "true"))
        if self._take("word", "None", "null"):
            return Literal("none", None)
        return None

    def _member(self, first: Operand, start: _Token, *, negated: bool) -> Node:
        if not isinstance(first, Column):
            raise self.fail(start.pos, "'in' needs a column on its left", "Write channel in ['a', 'b'].")
        opener = self._take("punct", "[", "(")
        if opener is None:
            raise self.unexpected("a list such as ['a', 'b']")
        closer = "]" if opener.value == "[" else ")"
        values: list[Literal] = []
        while not self._take("punct", closer):
            literal = self._literal()
            if literal is None:
                raise self.unexpected(f"a value or {closer!r} (a list holds values only)")
            values.append(literal)
            if not self._take("punct", ","):
                if not self._take("punct", closer):
                    raise self.unexpected(f"',' or {closer!r}")
                break
        return Member(first, tuple(values), negated)


def _flat(parts: list[Node], kind: type[And] | type[Or]) -> tuple[Node, ...]:
    out: list[Node] = []
    for p in parts:
        out.extend(p.parts if isinstance(p, (And, Or)) and isinstance(p, kind) else [p])
    return tuple(out)


def parse_segment(text: Any, *, columns: Iterable[Any] | None = None) -> Segment:
    """Parse a segment expression (see the module docstring for the grammar).

    Parameters
    ----------
    text : str or Segment
        The expression, such as ``"channel == 'app' and amount > 100"``.
    columns : iterable of str, optional
        The frame's columns. When given, every name must be one of them, and a name
        with spaces or symbols may be written unquoted where the text reads no other way.

    Returns
    -------
    Segment

    Raises
    ------
    InputError
        The text is outside the grammar, or names a column not in ``columns``.

    Examples
    --------
    >>> str(parse_segment("`device type`=='tablet' & ~(amount < 5)"))
    "`device type` == 'tablet' and not amount < 5"
    """
    if isinstance(text, Segment):
        segment = text
    elif not isinstance(text, str) or not text.strip():
        raise InputError(f"The segment {text!r} is empty or not text. {GRAMMAR}")
    else:
        try:
            segment = Segment(_Reader(text).parse(), text)
        except InputError as strict:
            names = [str(c) for c in (() if columns is None else columns)]
            odd = tuple(sorted((c for c in names if not _ASCII_NAME.match(c)), key=len, reverse=True))
            if not odd:
                raise
            try:  # names with spaces or symbols, written without back-quotes
                segment = Segment(_Reader(text, odd).parse(), text)
            except InputError:
                raise strict from None  # the strict reading's error is the clearer one
    if columns is not None:
        _check_columns(segment, [str(c) for c in columns], "the data")
    return segment


def _check_columns(segment: Segment, known: list[str], where: str) -> None:
    for name in segment.columns:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
            hint = f" Did you mean {' or '.join(quote_column(c) for c in close)}?" if close else ""
            shown = ", ".join(quote_column(c) for c in known[:20]) + (", …" if len(known) > 20 else "")
            raise InputError(f"The segment {segment.text or str(segment)!r} names the column "
                             f"{name!r}, which is not in {where}.{hint} Columns are: {shown}. "
                             f"{_SPACES_HINT}")


# --- evaluation -----------------------------------------------------------------------

def segment_mask(frame: pd.DataFrame, segment: Segment | str, *, name: str = "the data"
                 ) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` inside ``segment``.

    Parameters
    ----------
    frame : DataFrame
        The rows. Not modified.
    segment : Segment or str
        A parsed segment, or text to parse with ``frame``'s columns.
    name : str, default="the data"
        How messages name the frame, such as ``"the current window"``.

    Returns
    -------
    ndarray of bool, shape (len(frame),)
        True where the row is in the segment; comparisons with missing values are false.

    Raises
    ------
    InputError
        The text is outside the grammar, names a column the frame lacks, or compares a
        column with a value of another kind (text with a date, say).
    """
    parsed = parse_segment(segment, columns=None if isinstance(segment, Segment) else frame.columns)
    known = [str(c) for c in frame.columns]
    _check_columns(parsed, known, name)
    by_name = dict(zip(known, frame.columns))
    return _Evaluator(frame, by_name, parsed, name).mask(parsed.tree)


@dataclasses.dataclass
class _Evaluator:
    frame: pd.DataFrame
    by_name: dict[str, Any]
    segment: Segment
    where: str

    def fail(self, problem: str, fix: str) -> InputError:
        return InputError(f"The segment {self.segment.text or str(self.segment)!r} cannot be "
                          f"evaluated on {self.where}: {problem}. {fix}")

    def series(self, column: Column) -> pd.Series:
        import pandas as pd

        values = self.frame[self.by_name[column.name]]
        if isinstance(values, pd.DataFrame):
            raise self.fail(f"the column {column.name!r} appears {values.shape[1]} times",
                            "Give each column its own name.")
        return values

    def mask(self, node: Node) -> np.ndarray:
        import numpy as np

        if isinstance(node, Or):
            return np.logical_or.reduce([self.mask(p) for p in node.parts])
        if isinstance(node, And):
            return np.logical_and.reduce([self.mask(p) for p in node.parts])
        if isinstance(node, Not):
            return ~self.mask(node.operand)
        if isinstance(node, Truth):
            return self.truth(node.column)
        if isinstance(node, Member):
            return self.member(node)
        out = np.ones(len(self.frame), dtype=bool)
        for op, left, right in zip(node.ops, node.operands, node.operands[1:]):
            out &= self.pair(left, op, right)
        return out

    def truth(self, column: Column) -> np.ndarray:
        import pandas as pd

        s = self.series(column)
        if not pd.api.types.is_bool_dtype(s):
            example = "10" if pd.api.types.is_numeric_dtype(s) else "'a'"
            raise self.fail(f"the column {column.name!r} holds {s.dtype} values, not true or "
                            f"false", f"Compare it with a value: {quote_column(column.name)} "
                            f"== {example}.")
        return _bools(s == True)  # noqa: E712 - elementwise, with missing values as False

    def pair(self, left: Operand, op: str, right: Operand) -> np.ndarray:
        if isinstance(left, Literal):  # keep the column on the left
            left, op, right = right, _FLIP[op], left
        assert isinstance(left, Column)  # the parser rejects two literals
        s = self.series(left)
        if isinstance(right, Column):
            other = self.series(right)
            return self.compare(s, op, other, f"{left} {op} {right}") & _present(other)
        if right.kind == "none":
            return ~_present(s) if op == "==" else _present(s)
        values, value = self.coerce(s, left.name, right, ordering=op not in ("==", "!="))
        return self.compare(values, op, value, f"{left} {op} {right}")

    def member(self, node: Member) -> np.ndarray:
        s = self.series(node.column)
        present = _present(s)
        wanted = [v for v in node.values if v.kind != "none"]
        hits = present & False
        if wanted:
            coerced = [self.coerce(s, node.column.name, v) for v in wanted]
            values = coerced[0][0]
            hits = _bools(values.isin([c[1] for c in coerced])) & present
        if len(wanted) < len(node.values):  # None is in the list: missing rows are in
            hits |= ~present
            return ~hits if node.negated else hits
        return (~hits & present) if node.negated else hits

    def compare(self, values: Any, op: str, value: Any, shown: str) -> np.ndarray:
        try:
            return _bools(_OPS[op](values, value)) & _present(values)
        except (TypeError, ValueError) as exc:
            raise self.fail(f"{shown} compares values of different kinds ({exc})",
                            "Compare text columns with quoted text and number columns with "
                            "numbers.") from None

    def coerce(self, s: pd.Series, name: str, literal: Literal, *, ordering: bool = False
               ) -> tuple[Any, Any]:
        """The column's values and the literal, as one kind (the column's). Text that is
        no number equals no value of a number column (as in pandas); ordering by it is
        an error."""
        import pandas as pd

        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            s = s.astype("float64" if pd.api.types.is_numeric_dtype(cats) and not
                         pd.api.types.is_bool_dtype(cats) else
                         cats.dtype if pd.api.types.is_datetime64_any_dtype(cats) else object)
        value, col = literal.value, quote_column(name)
        if pd.api.types.is_bool_dtype(s):
            if literal.kind == "bool" or (literal.kind == "int" and value in (0, 1)):
                return s, bool(value)
            raise self.fail(f"the column {name!r} holds true/false and {literal} is not",
                            f"Write {col} == True or {col} == False.")
        if pd.api.types.is_numeric_dtype(s):
            if literal.kind in ("int", "float"):
                return s, value
            number = _number(value) if literal.kind == "str" else None
            if number is None and literal.kind == "str" and not ordering:
                return s.astype(object), value  # equal to no row, unequal to every present one
            if number is None:
                raise self.fail(f"the column {name!r} holds numbers and {literal} is not one",
                                f"Compare it with a number, such as {col} > 10.")
            return s, number
        if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
            return s, self.moment(s, name, literal)
        if literal.kind in ("int", "float"):  # numbers that arrive as text
            return pd.to_numeric(s.astype(object).where(_present(s)), errors="coerce"), value
        if literal.kind == "bool" and not pd.api.types.is_object_dtype(s):
            return s, str(value)
        return s, value

    def moment(self, s: pd.Series, name: str, literal: Literal) -> Any:
        import pandas as pd

        timedelta = pd.api.types.is_timedelta64_dtype(s)
        kind = "durations" if timedelta else "dates"
        example = "'2 days'" if timedelta else "'2024-03-01'"
        if literal.kind != "str":
            raise self.fail(f"the column {name!r} holds {kind} and {literal} is not one",
                            f"Quote the {kind[:-1]}: {quote_column(name)} >= {example}.")
        try:
            if timedelta:
                return pd.Timedelta(literal.value)
            stamp = pd.Timestamp(literal.value)
        except (TypeError, ValueError) as exc:
            raise self.fail(f"{literal} is not a {kind[:-1]} ({exc})",
                            f"Write it like {example}.") from None
        tz = getattr(s.dtype, "tz", None)
        if tz is not None and stamp.tzinfo is None:
            return stamp.tz_localize(tz)
        if tz is None and stamp.tzinfo is not None:
            return stamp.tz_convert("UTC").tz_localize(None)
        return stamp


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _present(values: Any) -> np.ndarray:
    import pandas as pd

    return ~pd.isna(values).to_numpy(dtype=bool) if hasattr(values, "to_numpy") else \
        ~pd.isna(values)


def _bools(result: Any) -> np.ndarray:
    """A pandas comparison result as plain booleans, missing as False."""
    import numpy as np

    if hasattr(result, "to_numpy"):
        return np.asarray(result.to_numpy(dtype=bool, na_value=False), dtype=bool)
    return np.asarray(result, dtype=bool)
