"""Plain data between the learner's kernel and the judge: what may cross, and how.

The judge (:mod:`pls_grading.judge`) never runs learner code and never receives a learner
object: every value the learner's process gives it is *data*, encoded here as JSON and decoded
into new objects of exact built-in types. An object that compares equal to anything, a ``str``
subclass with a patched ``__eq__``, a value whose ``__repr__`` lies: none of them can cross, because
nothing of the learner's object survives but the plain value it holds, or a refusal naming its
type. Decoding builds only the types listed below and checks every field, so a kernel that sends
anything else (the learner's code controls the kernel) gets a :class:`WireError`, never an object
of its choosing. No pickle, no ``eval``.

What crosses (tag: payload)::

    None, bool                          as JSON null, true, false
    int      ["i", "<digits>"]          any size
    float    ["f", 1.5 | "nan" | "inf" | "-inf"]
    complex  ["c", <float>, <float>]
    str      ["s", "..."]               bytes ["y", "<base64>"]
    list, tuple, set, frozenset         ["l" | "t" | "S" | "F", [items]]
    dict     ["d", [[key, value], ...]]  (keys: any plain value that is hashable)
    range    ["r", start, stop, step]
    Decimal  ["dec", "1.10"]    Fraction ["q", "1", "3"]
    datetime ["dt", "<iso>"]  date ["da", "<iso>"]  time ["ti", "<iso>"]  timedelta ["td", µs]
    numpy    ["a", {"dtype", "shape", "data": <base64>}] arrays of numbers, booleans, text or
             dates (no object or structured dtypes); ["g", {"dtype", "data"}] numpy scalars
    pandas   ["P", {...}] Series and ["D", {...}] DataFrame with a flat index, columns as arrays
    a learner function (only from the kernel)  ["h", <handle>]  a name the judge may call
    a learner module (only from the kernel)    ["m", "<module name>"]

Types are exact: a subclass of ``int`` or ``list`` does not cross (its methods are the learner's).
Limits (:class:`Limits`) keep a hostile kernel from exhausting the judge's memory or stack.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes)
NUMPY_KINDS = set("biufcUSMm")  # bool, ints, floats, complex, text, bytes, datetimes


class WireError(ValueError):
    """Data that is not plain data as this module defines it; the message names the problem."""


class Unsupported(WireError):
    """A value that cannot cross: the message names its type."""

    def __init__(self, value: object) -> None:
        self.type_name = type_name(value)
        super().__init__(f"a value of type {self.type_name} cannot be checked by the judge")


def type_name(value: object) -> str:
    kind = type(value)
    module = getattr(kind, "__module__", "")
    name = getattr(kind, "__qualname__", kind.__name__)
    return name if module in ("builtins", "__main__", None, "") else f"{module}.{name}"


@dataclass(frozen=True)
class Limits:
    """How much one message may hold: nesting depth, values in all, characters of text."""

    depth: int = 64
    items: int = 2_000_000
    text: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Handle:
    """A learner function (or other callable) the kernel keeps; the judge may only call it."""

    id: str


@dataclass(frozen=True)
class ModuleRef:
    """A module the learner's namespace holds, by name: the judge imports its own copy of it
    when it can (never from the learner's folder), else asks the kernel about its names."""

    name: str


# -- encoding (both sides) -------------------------------------------------------------------


def encode(value: Any, *, handle: Callable[[Any], str] | None = None,
           module: Callable[[Any], ModuleRef] | None = None, depth: int = 0,
           seen: set[int] | None = None) -> Any:
    """``value`` as JSON-ready plain data. ``handle`` (kernel side) turns a callable into a
    handle id and ``module`` a module into a reference; without them such values do not cross.
    Raises :class:`Unsupported` naming the type of the first value that cannot cross."""
    if depth > Limits.depth:
        raise WireError("the value is nested too deeply to be checked")
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is int:
        return ["i", _digits(value)]
    if kind is float:
        return ["f", value if math.isfinite(value) else repr(value)]
    if kind is complex:
        return ["c", encode(value.real)[1], encode(value.imag)[1]]
    if kind is str:
        return ["s", value]
    if kind is bytes:
        return ["y", base64.b64encode(value).decode("ascii")]
    if kind is range:
        return ["r", value.start, value.stop, value.step]
    if kind is Decimal:
        return ["dec", str(value)]
    if kind is Fraction:
        return ["q", _digits(value.numerator), _digits(value.denominator)]
    if kind is dt.datetime:
        return ["dt", value.isoformat()]
    if kind is dt.date:
        return ["da", value.isoformat()]
    if kind is dt.time:
        return ["ti", value.isoformat()]
    if kind is dt.timedelta:
        return ["td", value // dt.timedelta(microseconds=1)]
    if kind is Handle:
        return ["h", value.id]
    seen = set() if seen is None else seen
    if kind in (list, tuple, set, frozenset, dict):
        if id(value) in seen:
            raise WireError("the value contains itself and cannot be checked")
        seen.add(id(value))
        try:
            def inner(item: Any) -> Any:
                return encode(item, handle=handle, module=module, depth=depth + 1, seen=seen)

            if kind is dict:
                return ["d", [[inner(k), inner(v)] for k, v in value.items()]]
            tag = {list: "l", tuple: "t", set: "S", frozenset: "F"}[kind]
            return [tag, [inner(item) for item in value]]
        finally:
            seen.discard(id(value))
    encoded = _encode_library_value(value)
    if encoded is not None:
        return encoded
    if module is not None and kind.__name__ == "module" and kind.__module__ == "builtins":
        return ["m", module(value).name]
    if handle is not None and callable(value) and not isinstance(value, type):
        return ["h", handle(value)]
    if handle is not None and isinstance(value, type) and not issubclass(value, BaseException):
        return ["h", handle(value)]  # a class may be called; what it makes may not cross
    raise Unsupported(value)


def _digits(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than Python writes out (sys.get_int_max_str_digits)
        raise WireError("the number is too large to be checked") from None


def _encode_library_value(value: Any) -> Any:
    """numpy arrays and scalars, pandas Series and DataFrames, when those are the exact types."""
    kind = type(value)
    module = getattr(kind, "__module__", "") or ""
    if module == "numpy":
        import numpy as np

        if kind is np.ndarray:
            return ["a", _array(value)]
        if isinstance(value, np.generic) and kind.__module__ == "numpy":
            array = np.asarray(value)
            payload = _array(array)
            return ["g", {"dtype": payload["dtype"], "data": payload["data"]}]
        return None
    if module.startswith("pandas"):
        import pandas as pd

        if kind is pd.Series:
            return ["P", {"name": _label(value.name), "index": _index(value.index),
                          "values": _column(value)}]
        if kind is pd.DataFrame:
            return ["D", {
                "index": _index(value.index),
                "columns": _index(value.columns),
                "data": [_column(value.iloc[:, i]) for i in range(value.shape[1])],
            }]
    return None


def _array(array: Any) -> dict[str, Any]:
    dtype = array.dtype
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in NUMPY_KINDS:
        raise Unsupported(array)
    import numpy as np

    contiguous = np.ascontiguousarray(array)
    return {"dtype": dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(contiguous.tobytes()).decode("ascii")}


def _label(value: Any) -> Any:
    return encode(value)


def _column(series: Any) -> Any:
    import numpy as np

    values = series.to_numpy()
    if values.dtype.hasobject:
        return ["l", [encode(item.item() if isinstance(item, np.generic) else item)
                      for item in values.tolist()]]
    return ["a", _array(values)]


def _index(index: Any) -> Any:
    import pandas as pd

    if isinstance(index, pd.MultiIndex):
        raise Unsupported(index)
    if type(index) is pd.RangeIndex:
        return {"range": [index.start, index.stop, index.step], "name": _label(index.name)}
    return {"values": _column(pd.Series(index)), "name": _label(index.name)}


def dumps(value: Any, **options: Any) -> str:
    return json.dumps(encode(value, **options), separators=(",", ":"), allow_nan=False)


# -- decoding (the judge's side decides) -----------------------------------------------------


class Decoder:
    """Turns plain data back into values of exact built-in (or numpy/pandas) types, checking
    every field against :class:`Limits`. Handles and module references become what
    ``handle`` and ``module`` make of them (the judge's proxies); without those they are
    refused."""

    def __init__(self, limits: Limits | None = None,
                 handle: Callable[[str], Any] | None = None,
                 module: Callable[[ModuleRef], Any] | None = None) -> None:
        self.limits = limits or Limits()
        self.handle = handle
        self.module = module
        self.items = 0
        self.text = 0

    def loads(self, text: str) -> Any:
        if not isinstance(text, str) or len(text) > self.limits.text:
            raise WireError("the answer is too large to be checked")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise WireError("the answer is not valid data") from exc
        return self.decode(data)

    def decode(self, data: Any, depth: int = 0) -> Any:
        if depth > self.limits.depth:
            raise WireError("the value is nested too deeply to be checked")
        self.items += 1
        if self.items > self.limits.items:
            raise WireError("the value holds too many items to be checked")
        if data is None or type(data) is bool:
            return data
        if type(data) is not list or not data or type(data[0]) is not str:
            raise WireError("malformed value")
        tag, rest = data[0], data[1:]
        decoder = getattr(self, f"_tag_{TAGS.get(tag, 'unknown')}")
        return decoder(rest, depth)

    # each tag's payload, checked
    def _string(self, value: Any) -> str:
        if type(value) is not str:
            raise WireError("malformed value")
        self.text += len(value)
        if self.text > self.limits.text:
            raise WireError("the value holds too much text to be checked")
        return value

    def _one(self, rest: list, count: int = 1) -> list:
        if len(rest) != count:
            raise WireError("malformed value")
        return rest

    def _tag_unknown(self, rest: list, depth: int) -> Any:
        raise WireError("a value of an unknown kind")

    def _tag_int(self, rest: list, depth: int) -> int:
        (digits,) = self._one(rest)
        text = self._string(digits)
        if not text or len(text) > 10_000 or not text.lstrip("-").isdigit():
            raise WireError("malformed int")
        return int(text)

    def _tag_float(self, rest: list, depth: int) -> float:
        (value,) = self._one(rest)
        if type(value) in (int, float):
            return float(value)
        if value in ("nan", "inf", "-inf"):
            return float(value)
        raise WireError("malformed float")

    def _tag_complex(self, rest: list, depth: int) -> complex:
        real, imag = self._one(rest, 2)
        return complex(self._tag_float([real], depth), self._tag_float([imag], depth))

    def _tag_str(self, rest: list, depth: int) -> str:
        (value,) = self._one(rest)
        return self._string(value)

    def _tag_bytes(self, rest: list, depth: int) -> bytes:
        (value,) = self._one(rest)
        try:
            return base64.b64decode(self._string(value), validate=True)
        except (ValueError, TypeError) as exc:
            raise WireError("malformed bytes") from exc

    def _items(self, rest: list, depth: int) -> list:
        (items,) = self._one(rest)
        if type(items) is not list:
            raise WireError("malformed collection")
        return [self.decode(item, depth + 1) for item in items]

    def _tag_list(self, rest: list, depth: int) -> list:
        return self._items(rest, depth)

    def _tag_tuple(self, rest: list, depth: int) -> tuple:
        return tuple(self._items(rest, depth))

    def _tag_set(self, rest: list, depth: int) -> set:
        try:
            return set(self._items(rest, depth))
        except TypeError as exc:
            raise WireError("a set of values that cannot be in a set") from exc

    def _tag_frozenset(self, rest: list, depth: int) -> frozenset:
        return frozenset(self._tag_set(rest, depth))

    def _tag_dict(self, rest: list, depth: int) -> dict:
        (pairs,) = self._one(rest)
        if type(pairs) is not list:
            raise WireError("malformed dict")
        result: dict = {}
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict")
            key = self.decode(pair[0], depth + 1)
            try:
                result[key] = self.decode(pair[1], depth + 1)
            except TypeError as exc:
                raise WireError("a dict key that cannot be a key") from exc
        return result

    def _tag_range(self, rest: list, depth: int) -> range:
        start, stop, step = self._one(rest, 3)
        if not all(type(n) is int for n in (start, stop, step)) or step == 0:
            raise WireError("malformed range")
        return range(start, stop, step)

    def _tag_decimal(self, rest: list, depth: int) -> Decimal:
        (text,) = self._one(rest)
        value = self._string(text)
        if len(value) > 10_000:
            raise WireError("malformed Decimal")
        try:
            return Decimal(value)
        except InvalidOperation as exc:
            raise WireError("malformed Decimal") from exc

    def _tag_fraction(self, rest: list, depth: int) -> Fraction:
        numerator, denominator = self._one(rest, 2)
        top = self._tag_int([numerator], depth)
        bottom = self._tag_int([denominator], depth)
        if bottom == 0:
            raise WireError("malformed Fraction")
        return Fraction(top, bottom)

    def _iso(self, rest: list, parse: Callable[[str], Any], what: str) -> Any:
        (text,) = self._one(rest)
        try:
            return parse(self._string(text))
        except ValueError as exc:
            raise WireError(f"malformed {what}") from exc

    def _tag_datetime(self, rest: list, depth: int) -> dt.datetime:
        return self._iso(rest, dt.datetime.fromisoformat, "datetime")

    def _tag_date(self, rest: list, depth: int) -> dt.date:
        return self._iso(rest, dt.date.fromisoformat, "date")

    def _tag_time(self, rest: list, depth: int) -> dt.time:
        return self._iso(rest, dt.time.fromisoformat, "time")

    def _tag_timedelta(self, rest: list, depth: int) -> dt.timedelta:
        (micros,) = self._one(rest)
        if type(micros) is not int:
            raise WireError("malformed timedelta")
        try:
            return dt.timedelta(microseconds=micros)
        except OverflowError as exc:
            raise WireError("malformed timedelta") from exc

    def _tag_handle(self, rest: list, depth: int) -> Any:
        (handle,) = self._one(rest)
        if self.handle is None:
            raise WireError("a function where data was expected")
        return self.handle(self._string(handle))

    def _tag_module(self, rest: list, depth: int) -> Any:
        (name,) = self._one(rest)
        if self.module is None:
            raise WireError("a module where data was expected")
        text = self._string(name)
        if not text or len(text) > 200 or not all(p.isidentifier() for p in text.split(".")):
            raise WireError("malformed module name")
        return self.module(ModuleRef(text))

    def _tag_array(self, rest: list, depth: int) -> Any:
        (payload,) = self._one(rest)
        return self._ndarray(payload)

    def _ndarray(self, payload: Any) -> Any:
        try:
            import numpy as np
        except ImportError as exc:
            raise WireError("a numpy array, but numpy is not installed") from exc
        if type(payload) is not dict or set(payload) - {"dtype", "shape", "data"}:
            raise WireError("malformed array")
        try:
            dtype = np.dtype(self._string(payload.get("dtype")))
        except TypeError as exc:
            raise WireError("malformed array dtype") from exc
        if dtype.hasobject or dtype.fields is not None or dtype.kind not in NUMPY_KINDS:
            raise WireError("an array of a kind the judge does not take")
        shape = payload.get("shape")
        if type(shape) is not list or len(shape) > 32 or not all(
                type(n) is int and n >= 0 for n in shape):
            raise WireError("malformed array shape")
        data = self._tag_bytes([payload.get("data")], 0)
        count = math.prod(shape)
        if count * dtype.itemsize != len(data):
            raise WireError("malformed array data")
        self.items += count
        if self.items > self.limits.items:
            raise WireError("the value holds too many items to be checked")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()

    def _tag_numpy_scalar(self, rest: list, depth: int) -> Any:
        (payload,) = self._one(rest)
        if type(payload) is not dict:
            raise WireError("malformed numpy scalar")
        array = self._ndarray({"dtype": payload.get("dtype"), "shape": [],
                               "data": payload.get("data")})
        return array[()]

    def _pandas_column(self, data: Any, depth: int) -> Any:
        if type(data) is not list or not data or data[0] not in ("a", "l"):
            raise WireError("malformed column")
        if data[0] == "a":
            return self._ndarray(self._one(data[1:])[0])
        import numpy as np

        values = self._items(data[1:], depth)
        column = np.empty(len(values), dtype=object)
        column[:] = values
        return column

    def _pandas_index(self, data: Any, depth: int) -> Any:
        import pandas as pd

        if type(data) is not dict:
            raise WireError("malformed index")
        name = self.decode(data.get("name"), depth + 1)
        if "range" in data:
            start, stop, step = data["range"] if type(data["range"]) is list and len(
                data["range"]) == 3 else (None, None, None)
            if not all(type(n) is int for n in (start, stop, step)) or step == 0:
                raise WireError("malformed index")
            return pd.RangeIndex(start, stop, step, name=name)
        return pd.Index(self._pandas_column(data.get("values"), depth), name=name)

    def _tag_series(self, rest: list, depth: int) -> Any:
        try:
            import pandas as pd
        except ImportError as exc:
            raise WireError("a pandas Series, but pandas is not installed") from exc
        (payload,) = self._one(rest)
        if type(payload) is not dict:
            raise WireError("malformed Series")
        index = self._pandas_index(payload.get("index"), depth)
        values = self._pandas_column(payload.get("values"), depth)
        if len(values) != len(index):
            raise WireError("malformed Series")
        return pd.Series(values, index=index, name=self.decode(payload.get("name"), depth + 1),
                         copy=False)

    def _tag_frame(self, rest: list, depth: int) -> Any:
        try:
            import pandas as pd
        except ImportError as exc:
            raise WireError("a pandas DataFrame, but pandas is not installed") from exc
        (payload,) = self._one(rest)
        if type(payload) is not dict or type(payload.get("data")) is not list:
            raise WireError("malformed DataFrame")
        index = self._pandas_index(payload.get("index"), depth)
        labels = self._pandas_index(payload.get("columns"), depth)
        columns = [self._pandas_column(column, depth) for column in payload["data"]]
        if len(columns) != len(labels) or any(len(c) != len(index) for c in columns):
            raise WireError("malformed DataFrame")
        frame = pd.DataFrame(dict(enumerate(columns)), index=index)
        frame.columns = labels
        return frame


TAGS = {
    "i": "int", "f": "float", "c": "complex", "s": "str", "y": "bytes", "l": "list",
    "t": "tuple", "S": "set", "F": "frozenset", "d": "dict", "r": "range", "dec": "decimal",
    "q": "fraction", "dt": "datetime", "da": "date", "ti": "time", "td": "timedelta",
    "h": "handle", "m": "module", "a": "array", "g": "numpy_scalar", "P": "series",
    "D": "frame",
}


def loads(text: str, **options: Any) -> Any:
    return Decoder(**options).loads(text)
