"""The emlml C core's message formatter in Python, byte for byte.

A port of emlml_format and emlml_error_format (micropython_module/core/emlml_status.c),
driven by the tables generated from the C headers (c_tables.py), so that Python tools
can print the very message the C core (and so emlml on a board) prints for a status:

    error_format("EMLML_E_N_INPUTS", 0)   -> 'n_inputs 0 out of range (1..65534)'
    error_format(3, 7)                    -> 'unsupported version 7 (this build reads 1..1)'

A template's conversions: %u (the next of the arguments a, b, c, d as uint32), %d (its
bits as int32), %c (a 7-bit char), %L ("layer N (OP)" from EMLML_WHERE_LAYER), %N (a
field name by EMLML_NAME_* number), %0..%9 and %A..%F (the limit at that place of
EMLML_LIMIT_LIST, from the C config; takes no argument) and %% (one '%'). Anything else,
a fifth conversion included, is copied as it stands. `size` is the C buffer size: the
message is cut to size - 1 characters, as the C formatter cuts it.
"""

from __future__ import annotations

from .c_tables import CNN_OPS, FIELD_NAMES, LIMITS, STATUS

__all__ = ["emlml_format", "error_format", "status_number", "where_layer"]

_OP_NAMES = ("?",) + tuple(name for name, _ in CNN_OPS)  # by op number: CNN_OPS is 1..N
_STATUS_NUMBER = {name: number for number, (name, _) in enumerate(STATUS)}
_U32 = 0xFFFFFFFF


def status_number(status: int | str) -> int:
    """The emlml_status_t number of a status given by number or by its C name."""
    return _STATUS_NUMBER[status] if isinstance(status, str) else int(status)


def where_layer(layer: int, op: int) -> int:
    """The argument of %L (EMLML_WHERE_LAYER): layer index and CNN op number."""
    return ((layer & _U32) | ((op & _U32) << 16)) & _U32


def _limit_place(conversion: str) -> int | None:
    """The place in LIMITS that a hex digit names ('0'..'9', 'A'..'F'), or None."""
    if "0" <= conversion <= "9":
        place = ord(conversion) - ord("0")
    elif "A" <= conversion <= "F":
        place = ord(conversion) - ord("A") + 10
    else:
        return None
    return place if place < len(LIMITS) else None


def _signed(v: int) -> str:
    return "-" + str((-v) & _U32) if v & 0x80000000 else str(v)


def _layer(v: int) -> str:
    op = v >> 16
    return f"layer {v & 0xFFFF} ({_OP_NAMES[op] if op < len(_OP_NAMES) else '?'})"


def _field(v: int) -> str:
    return FIELD_NAMES[v] if v < len(FIELD_NAMES) else "?"


_CONVERSIONS = {"u": str, "d": _signed, "c": lambda v: chr(v & 0x7F), "L": _layer, "N": _field}


def emlml_format(template: str, a: int = 0, b: int = 0, c: int = 0, d: int = 0,
                 size: int | None = None) -> str:
    """emlml_format(buf, size, template, a, b, c, d): the text it writes (no NUL)."""
    args = [v & _U32 for v in (a, b, c, d)]
    out, used, i = [], 0, 0
    while i < len(template):
        conversion = template[i + 1] if template[i] == "%" and i + 1 < len(template) else ""
        place = _limit_place(conversion)
        if place is not None:
            out.append(str(LIMITS[place][1]))
            i += 2
        elif conversion in _CONVERSIONS and used < 4:
            out.append(_CONVERSIONS[conversion](args[used]))
            used += 1
            i += 2
        else:
            i += conversion == "%"  # "%%" prints one '%'
            out.append(template[i])
            i += 1
    text = "".join(out)
    return text if size is None else text[:max(size - 1, 0)]


def error_format(status: int | str, a: int = 0, b: int = 0, c: int = 0, d: int = 0,
                 size: int | None = None) -> str:
    """emlml_error_format of {status, a, b, c, d}: the status's message; a number beyond
    the list prints as "unknown error N", as in C."""
    number = status_number(status)
    if not 0 <= number < len(STATUS):
        return emlml_format("unknown error %u", number, b, c, d, size)
    return emlml_format(STATUS[number][1], a, b, c, d, size)
