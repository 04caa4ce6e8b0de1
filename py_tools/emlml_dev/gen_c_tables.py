"""Write py_tools/emlml_tools/format/c_tables.py from the emlml C core's headers.

The C headers are the one source of the facts Python needs to agree with: the release
and blob-format versions, the magic, the limits (core/emlml_config.h), every status code
in enum order with its message template, the limits messages name and the CNN field
names (core/emlml_status.h), the CNN ops, model kinds, tasks, input types and kNN
settings (core/emlml.h) and the section ids (core/emlml_internal.h).

    python py_tools/emlml_dev/gen_c_tables.py           # (re)write c_tables.py
    python py_tools/emlml_dev/gen_c_tables.py --check   # exit 1 if it is out of date

Plain Python 3.10+, standard library only: it reads the headers as text (X-macro lists,
enums and #defines written the way these headers write them) and refuses anything else
rather than guessing.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORE = "micropython_module/core"
HEADERS = {name: f"{CORE}/{name}" for name in
           ("emlml_config.h", "emlml_status.h", "emlml.h", "emlml_internal.h")}
OUTPUT = "py_tools/emlml_tools/format/c_tables.py"


class HeaderError(ValueError):
    """A header is not written the way this generator reads it."""


def strip_comments(text: str) -> str:
    """C comments out, string literals kept (a '//' inside a string is not a comment)."""
    token = re.compile(r'"(?:[^"\\\n]|\\.)*"|/\*.*?\*/|//[^\n]*', re.S)
    return token.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)


def logical_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined, as the preprocessor sees them."""
    return strip_comments(text).replace("\\\n", " ").split("\n")


def c_string(literals: str) -> str:
    """The value of adjacent C string literals ("a" "b"), for the escapes the headers use."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', literals)
    if not parts or re.sub(r'"(?:[^"\\]|\\.)*"|\s', "", literals):
        raise HeaderError(f"not a string literal: {literals!r}")
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "0": "\0"}

    def unescape(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] == "x":
            return chr(int(esc[1:], 16))
        if esc not in escapes:
            raise HeaderError(f"escape \\{esc} in {literals!r}")
        return escapes[esc]

    return "".join(re.sub(r"\\(x[0-9a-fA-F]{1,2}|.)", unescape, p) for p in parts)


def defines(text: str) -> dict[str, str]:
    """Object-like #defines: name -> replacement text."""
    out = {}
    for line in logical_lines(text):
        m = re.match(r"\s*#\s*define\s+(\w+)\b(?!\()\s*(.*?)\s*$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def x_macro(text: str, name: str) -> list[list[str]]:
    """The entries X(...) of `#define name(X) ...`, each a list of its arguments."""
    for line in logical_lines(text):
        m = re.match(rf"\s*#\s*define\s+{name}\(X\)\s*(.*)$", line)
        if m:
            body = m.group(1)
            entry = re.compile(r'X\(((?:"(?:[^"\\]|\\.)*"|[^()"])*)\)')
            entries = [split_args(e) for e in entry.findall(body)]
            if entry.sub("", body).strip():
                raise HeaderError(f"{name}: text outside X(...) entries: {entry.sub('', body)!r}")
            return entries
    raise HeaderError(f"no #define {name}(X) list")


def status_groups(text: str) -> list[str]:
    """The status groups (EMLML_STATUS_CORE, _TREES, ...) in their order: the lists that
    EMLML_STATUS_LIST_A and _B are made of."""
    groups = []
    for half in ("EMLML_STATUS_LIST_A", "EMLML_STATUS_LIST_B"):
        for line in logical_lines(text):
            m = re.match(rf"\s*#\s*define\s+{half}\(X\)\s*(.*)$", line)
            if m:
                body = m.group(1)
                names = re.findall(r"(EMLML_STATUS_\w+)\(X\)", body)
                if re.sub(r"EMLML_STATUS_\w+\(X\)", "", body).strip() or not names:
                    raise HeaderError(f"{half}: not a list of EMLML_STATUS_*(X) groups: {body!r}")
                groups += names
                break
        else:
            raise HeaderError(f"no #define {half}(X)")
    return groups


def split_args(args: str) -> list[str]:
    """Macro arguments split at the commas outside string literals."""
    parts = re.findall(r'(?:"(?:[^"\\]|\\.)*"|[^,"])+', args)
    return [p.strip() for p in parts]


def int_value(expr: str, known: dict[str, str], depth: int = 0) -> int:
    """An integer constant expression of the headers: decimal or hex literals with u/l
    suffixes, other macros, ( ), + - * / << >> | &; nothing else is evaluated."""
    if depth > 20:
        raise HeaderError(f"macros nest too deep in {expr!r}")

    def word(m: re.Match[str]) -> str:
        token = m.group(0)
        literal = re.fullmatch(r"(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*", token)
        if literal:
            return str(int(literal.group(1), 0))
        if token in known:
            return f"({int_value(known[token], known, depth + 1)})"
        raise HeaderError(f"unknown name {token} in {expr!r}")

    python = re.sub(r"\b\w+\b", word, expr).replace("/", "//")
    tree = ast.parse(python, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Add, ast.Sub,
               ast.Mult, ast.FloorDiv, ast.LShift, ast.RShift, ast.BitOr, ast.BitAnd, ast.USub)
    if not all(isinstance(node, allowed) for node in ast.walk(tree)):
        raise HeaderError(f"not an integer constant expression: {expr!r}")
    return int(eval(compile(tree, "<header>", "eval"), {"__builtins__": {}}))  # checked above


def enum_members(text: str, first: str) -> list[tuple[str, int]]:
    """The members of the enum whose first member is `first`, with their values (C's rule:
    one more than the one before when not given)."""
    for body in re.findall(r"\benum\s*(?:\w+\s*)?\{([^}]*)\}", strip_comments(text)):
        names = [m.strip() for m in body.split(",") if m.strip()]
        if not names or names[0].split("=")[0].strip() != first:
            continue
        out, value, known = [], -1, {}
        for member in names:
            name, _, expr = (s.strip() for s in member.partition("="))
            value = int_value(expr, known) if expr else value + 1
            known[name] = str(value)
            out.append((name, value))
        return out
    raise HeaderError(f"no enum starting with {first}")


def prefixed(members: list[tuple[str, int]], prefix: str) -> dict[str, int]:
    return {name[len(prefix):]: value for name, value in members}


def read_headers(root: str) -> dict[str, object]:
    text = {}
    for name, path in HEADERS.items():
        with open(os.path.join(root, path), encoding="utf-8") as f:
            text[name] = f.read()
    config = defines(text["emlml_config.h"])
    # Not the family switches (EMLML_WITH_*): they say what one build holds, and the
    # Python side holds every family.
    numbers = {name[len("EMLML_"):]: int_value(expr, config)
               for name, expr in config.items()
               if name.startswith("EMLML_") and not name.startswith("EMLML_WITH_")
               and not expr.startswith('"') and expr}

    status_h = text["emlml_status.h"]
    status = [(name, c_string(template))
              for group in status_groups(status_h)
              for name, template in x_macro(status_h, group)]
    limits = [(name, numbers[name]) for (name,) in x_macro(status_h, "EMLML_LIMIT_LIST")]
    field_names = [c_string(t) for _, t in x_macro(status_h, "EMLML_NAME_LIST")]
    ops = [(name, int_value(n, {})) for name, n in x_macro(text["emlml.h"], "EMLML_CNN_OP_LIST")]
    if [n for _, n in ops] != list(range(1, len(ops) + 1)):
        raise HeaderError("EMLML_CNN_OP_LIST: op numbers must be 1..N in order")
    step_ops = [(name, int_value(n, {})) for name, n in x_macro(text["emlml.h"], "EMLML_STEP_OP_LIST")]
    if [n for _, n in step_ops] != list(range(1, len(step_ops) + 1)):
        raise HeaderError("EMLML_STEP_OP_LIST: op numbers must be 1..N in order")
    stats = {name: int_value(bit, {}) for name, bit in x_macro(text["emlml.h"], "EMLML_STAT_LIST")}
    if sorted(stats.values()) != list(range(len(stats))):
        raise HeaderError("EMLML_STAT_LIST: bits must be 0..N-1")
    if len(limits) > 16:
        raise HeaderError("EMLML_LIMIT_LIST: a template names at most 16 limits (%0..%F)")

    emlml_h = text["emlml.h"]
    sections = prefixed(enum_members(text["emlml_internal.h"], "EMLML_SEC_META"), "EMLML_SEC_")
    if sections.pop("ID_MAX") != max(sections.values()):
        raise HeaderError("EMLML_SEC_ID_MAX is not the largest section id")
    return {
        "version": c_string(config["EMLML_VERSION"]),
        "magic": c_string(config["EMLML_MAGIC"]),
        "numbers": numbers,
        "limits": limits,
        "status": status,
        "field_names": field_names,
        "ops": ops,
        "step_ops": step_ops,
        "stats": stats,
        "sections": sections,
        "kinds": prefixed(enum_members(emlml_h, "EMLML_KIND_TREES"), "EMLML_KIND_"),
        "tasks": prefixed(enum_members(emlml_h, "EMLML_TASK_CLASSIFIER"), "EMLML_TASK_"),
        "input_types": prefixed(enum_members(emlml_h, "EMLML_INPUT_F32"), "EMLML_INPUT_"),
        "meta_tags": prefixed(enum_members(emlml_h, "EMLML_META_PRODUCER"), "EMLML_META_"),
        "knn_metrics": prefixed(enum_members(emlml_h, "EMLML_KNN_EUCLIDEAN"), "EMLML_KNN_"),
        "knn_weights": prefixed(enum_members(emlml_h, "EMLML_KNN_UNIFORM"), "EMLML_KNN_"),
        "knn_sample_types": prefixed(enum_members(emlml_h, "EMLML_KNN_SAMPLES_F32"), "EMLML_KNN_SAMPLES_"),
        "knn_distances": prefixed(enum_members(emlml_h, "EMLML_KNN_DIST_FLOAT32"), "EMLML_KNN_DIST_"),
        "boost_links": prefixed(enum_members(emlml_h, "EMLML_BOOST_IDENTITY"), "EMLML_BOOST_"),
        "boost_sums": prefixed(enum_members(emlml_h, "EMLML_BOOST_SUM_F64"), "EMLML_BOOST_SUM_"),
        "cnn_tensor_flags": prefixed(enum_members(emlml_h, "EMLML_CNN_TENSOR_CONSTANT"),
                                     "EMLML_CNN_TENSOR_"),
    }


def render(facts: dict[str, object]) -> str:
    out = [
        '"""Facts of the emlml C core, for Python to agree with.',
        "",
        "Generated from",
        *(f"    {path}" for path in HEADERS.values()),
        "by py_tools/emlml_dev/gen_c_tables.py; do not edit: change the C headers, then run",
        "`python py_tools/emlml_dev/gen_c_tables.py` (tests_host/test_format_c_tables.py runs it with",
        "--check). The messages are formatted by c_format.py, as emlml_format does in C.",
        '"""',
        "",
        "# The release (EMLML_VERSION) and the blob's magic.",
        f"VERSION = {facts['version']!r}",
        f"MAGIC = {facts['magic'].encode('ascii')!r}",
        "",
        "# The integer settings of emlml_config.h, without the EMLML_ prefix.",
    ]
    out += [f"{name} = {value}" for name, value in facts["numbers"].items()]
    sections = [
        ("# The limits messages state, in EMLML_LIMIT_LIST order: a template names the\n"
         "# i-th as % and hex digit i (%0, %1, ..., %A, ...).", "LIMITS", facts["limits"]),
        ("# Every status code (emlml_status_t) in enum order, with its message template:\n"
         "# STATUS[i] is status number i.", "STATUS", facts["status"]),
        ("# The names %N prints, by EMLML_NAME_* number.", "FIELD_NAMES", facts["field_names"]),
        ("# The int8 CNN ops (EMLML_CNN_OP_LIST): TFLite name and op number, 1..N in order.",
         "CNN_OPS", facts["ops"]),
        ("# The feature steps' ops (EMLML_STEP_OP_LIST): name and op number, 1..N in order.",
         "STEP_OPS", facts["step_ops"]),
    ]
    for comment, name, items in sections:
        out += ["", comment, f"{name} = ("]
        out += [f"    {item!r}," for item in items]
        out.append(")")
    enums = [("SECTIONS", "sections", "Section ids (EMLML_SEC_*)"),
             ("KINDS", "kinds", "Model kinds (emlml_kind_t)"),
             ("TASKS", "tasks", "Tasks (emlml_task_t)"),
             ("INPUT_TYPES", "input_types", "Input types (emlml_input_type_t)"),
             ("META_TAGS", "meta_tags", "Metadata record tags (EMLML_META_*)"),
             ("STATS", "stats", "The statistics of the STATS step by mask bit (EMLML_STAT_LIST)"),
             ("KNN_METRICS", "knn_metrics", "kNN metrics (emlml_knn_metric_t)"),
             ("KNN_WEIGHTS", "knn_weights", "kNN weights (emlml_knn_weights_t)"),
             ("KNN_SAMPLE_TYPES", "knn_sample_types", "kNN sample types (emlml_knn_sample_type_t)"),
             ("KNN_DISTANCES", "knn_distances", "kNN distances (emlml_knn_distances_t)"),
             ("BOOST_LINKS", "boost_links", "Boosting links (emlml_boost_link_t)"),
             ("BOOST_SUMS", "boost_sums", "Boosting sum types (emlml_boost_sum_t)"),
             ("CNN_TENSOR_FLAGS", "cnn_tensor_flags", "CNN tensor flags (EMLML_CNN_TENSOR_*)")]
    for name, key, comment in enums:
        out += ["", f"# {comment}: name without its prefix -> number.", f"{name} = {{"]
        out += [f"    {k!r}: {v}," for k, v in facts[key].items()]
        out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 if {OUTPUT} differs from what would be generated")
    parser.add_argument("--root", default=ROOT, help="the emlml checkout (default: this one)")
    args = parser.parse_args(argv)
    try:
        text = render(read_headers(args.root))
    except HeaderError as e:
        print(f"gen_c_tables: {e}", file=sys.stderr)
        return 2
    path = os.path.join(args.root, OUTPUT)
    if args.check:
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"{OUTPUT} is out of date with the C headers: run "
                  "`python py_tools/emlml_dev/gen_c_tables.py` and commit the result", file=sys.stderr)
            return 1
        return 0
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
