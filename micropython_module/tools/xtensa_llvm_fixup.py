#!/usr/bin/env python3
"""Make LLVM's Xtensa output linkable by MicroPython 1.23's mpy_ld (ESP32, xtensawin).

The ESP32 native module is built here with Debian's LLVM 22 (clang -> llc -> llvm-mc),
because Espressif's GCC is in no package registry. mpy_ld of 1.23 was written for the
objects of GNU as (Espressif's GCC), and takes LLVM's objects without a word of
complaint but links them wrongly: the .mpy loads, then prints garbage or faults
(InstrFetchProhibited). This tool mends the differences, in two steps:

  xtensa_llvm_fixup.py asm IN.s OUT.s          before llvm-mc
  xtensa_llvm_fixup.py obj IN.o OUT.o --tag T  after llvm-mc, before mpy_ld

asm: llc writes each function's literal pool (`.literal_position` and `.literal LABEL,
VALUE` lines) in front of the function. LLVM's integrated assembler has no
`-mtext-section-literals` and places those pools inline in .text at whatever offset
they fall on (an l32r can only load an aligned word), and mpy_ld looks an l32r's
literal up by the object's file name and the offset in its literal section, so it
wants one literal section per object. All literals of the file are gathered into one
4-byte-aligned `.literal` section, as GNU as does.

obj: four fixes, each explained where it is made:
  (1) addends of R_XTENSA_32 against section symbols go into the relocated word
  (2) the 0xffff that llvm-mc leaves in an l32r's offset field is zeroed
  (3) .rodata sections that hold relocated words (jump tables, tables of pointers)
      become .data.rel.ro
  (4) section names and local symbol names are made unique per object
and it refuses (exit status 1, with the reason) anything else mpy_ld would get wrong:
other relocation types, a relocation that points where mpy_ld does not expect.

Needs pyelftools (as mpy_ld does) and llvm-objcopy (LLVM 22, or $LLVM_OBJCOPY).
"""

from __future__ import annotations

import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile

from elftools.elf.elffile import ELFFile

R_XTENSA_32 = 1
R_XTENSA_SLOT0_OP = 20
RELA_SIZE = 12  # Elf32_Rela: r_offset, r_info, r_addend


class FixupError(Exception):
    pass


# --------------------------------------------------------------------------------------
# asm: gather literal pools

LITERAL_RE = re.compile(r"^\s*\.literal\s+([^,\s]+)\s*,\s*(.+?)\s*(#.*)?$")
LITERAL_POSITION_RE = re.compile(r"^\s*\.literal_position\s*(#.*)?$")


def gather_literals(text: str) -> str:
    """Move every `.literal LABEL, VALUE[, VALUE...]` of llc's output into one aligned
    `.literal` section at the end of the file. The instructions that use them (l32r)
    refer to the labels, so their place does not matter to the code; l32r reaches
    backwards only, and mpy_ld puts all literals before all code in the .mpy."""
    body = []
    literals = []
    for line in text.splitlines():
        m = LITERAL_RE.match(line)
        if m:
            literals.append((m.group(1), m.group(2)))
        elif not LITERAL_POSITION_RE.match(line):
            body.append(line)
    if literals:
        body.append('\t.section\t.literal,"ax",@progbits')
        body.append("\t.p2align\t2")
        for label, value in literals:
            body.append(f"{label}:")
            body.append(f"\t.long\t{value}")
    return "\n".join(body) + "\n"


# --------------------------------------------------------------------------------------
# obj: the four fixes


def section_kind(name: str) -> str | None:
    """What mpy_ld makes of a section: it loads these prefixes and ignores the rest."""
    for prefix in (".literal", ".text", ".rodata", ".data.rel.ro", ".bss", ".data"):
        if name.startswith(prefix):
            return prefix
    return None


def fix_object(src: str, dst: str, tag: str, objcopy: str) -> list[str]:
    """Write the mended copy of object `src` to `dst`. Returns what was done (for -v)."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    done = []
    with open(src, "rb") as f:
        elf = ELFFile(f)
        if elf["e_machine"] != "EM_XTENSA" or elf.elfclass != 32 or not elf.little_endian:
            raise FixupError(f"{src}: not a 32-bit little-endian Xtensa object")
        symtab = elf.get_section_by_name(".symtab")
        symbols = list(symtab.iter_symbols())
        sections = list(elf.iter_sections())
        relocated_rodata = set()

        for rela in sections:
            if rela.header.sh_type == "SHT_REL":
                raise FixupError(f"{src}: {rela.name}: REL relocations (LLVM writes RELA)")
            if rela.header.sh_type != "SHT_RELA":
                continue
            target = sections[rela.header.sh_info]
            kind = section_kind(target.name)
            if kind is None:
                continue  # debug info and notes: mpy_ld ignores them and so do we
            if kind in (".rodata",) and rela.num_relocations():
                relocated_rodata.add(target.name)
            base = target.header.sh_offset
            for i, r in enumerate(rela.iter_relocations()):
                entry = rela.header.sh_offset + i * RELA_SIZE
                rtype = r["r_info_type"]
                sym = symbols[r["r_info_sym"]]
                stype = sym["st_info"]["type"]
                addend = r["r_addend"]
                where = f"{src}: {target.name}+0x{r['r_offset']:x}"
                if rtype == R_XTENSA_32:
                    if kind not in (".literal", ".rodata", ".data.rel.ro"):
                        # mpy_ld relocates a word in .text against a local symbol
                        # PC-relative (GNU as never writes one there): refuse.
                        raise FixupError(f"{where}: R_XTENSA_32 in {target.name}")
                    # (1) LLVM writes RELA with the word itself 0 and the offset from
                    # the symbol in r_addend; GNU as writes the offset into the word.
                    # mpy_ld reads the word for section symbols and asserts
                    # r_addend == 0 in literal sections; in .data.rel.ro it adds both.
                    # Moving the addend into the word is right for every section.
                    if stype == "STT_SECTION" and addend != 0:
                        (word,) = struct.unpack_from("<I", data, base + r["r_offset"])
                        struct.pack_into("<I", data, base + r["r_offset"], (word + addend) & 0xFFFFFFFF)
                        struct.pack_into("<i", data, entry + 8, 0)
                    elif (stype != "STT_SECTION" and addend != 0 and kind == ".literal"
                          and sym.name != "mp_fun_table"):
                        # A literal's GOT entry keeps the offset from a named symbol in
                        # its name only and points at the symbol itself (except for
                        # mp_fun_table+N, which mpy_ld knows): refuse.
                        raise FixupError(f"{where}: literal {sym.name}+{addend}: offset from a symbol")
                elif rtype == R_XTENSA_SLOT0_OP:
                    if kind != ".text":
                        raise FixupError(f"{where}: R_XTENSA_SLOT0_OP outside .text")
                    pos = base + r["r_offset"]
                    dest = sections[sym["st_shndx"]].name if isinstance(sym["st_shndx"], int) else None
                    if data[pos] & 0x0F == 0x01:  # l32r (op0 = 1)
                        # mpy_ld finds the literal by r_addend against the literal
                        # section's own symbol; a label symbol would misplace it.
                        if dest is None or not dest.startswith(".literal") or stype != "STT_SECTION":
                            raise FixupError(f"{where}: l32r of {sym.name or dest}, not of the .literal section")
                        # (2) llvm-mc leaves 0xffff (-1 word) in the l32r's offset
                        # field; GNU as leaves 0, and mpy_ld adds its result to what
                        # is there: clear it.
                        data[pos + 1] = 0
                        data[pos + 2] = 0
                    elif dest is None or not dest.startswith(".text") or dest != target.name:
                        # mpy_ld takes a SLOT0_OP into .text as already resolved by
                        # the assembler; that holds only inside one section.
                        raise FixupError(f"{where}: R_XTENSA_SLOT0_OP to {sym.name or dest}")
                else:
                    raise FixupError(f"{where}: relocation type {rtype} (mpy_ld knows 32 and SLOT0_OP)")

        # (3) GCC with -fpic puts a table of pointers (a jump table, an array of string
        # pointers) in .data.rel.ro, which mpy_ld relocates at load time (the .mpy
        # lists the words to fix). LLVM without -fpic (refused for Xtensa) puts them
        # in .rodata, whose relocations mpy_ld handles as code, PC-relative: the words
        # would hold nonsense. A .rodata section with relocations is renamed.
        # (4) mpy_ld names the GOT entry of a section symbol "<section>+0x<offset>"
        # and that of a local symbol by its name, without the object's name: the
        # .text of one object and the .text of another would share a GOT slot. So
        # every section that mpy_ld loads gets the object's tag, and so does every
        # local symbol (llvm-mc keeps some, .L.str.N in mergeable string sections).
        renames = []
        for sec in sections:
            kind = section_kind(sec.name)
            if kind is None:
                continue
            new = sec.name
            if sec.name in relocated_rodata:
                new = ".data.rel.ro" + sec.name[len(".rodata"):]
                done.append(f"{sec.name} has relocations: renamed .data.rel.ro")
            new = f"{new}.{tag}"
            renames.append((sec.name, new))
        local_syms = sorted({
            s.name for s in symbols
            if s.name and s["st_info"]["bind"] == "STB_LOCAL"
            and s["st_info"]["type"] not in ("STT_SECTION", "STT_FILE")
        })

    with tempfile.TemporaryDirectory() as tmp:
        patched = os.path.join(tmp, "patched.o")
        with open(patched, "wb") as f:
            f.write(data)
        args = [objcopy]
        for old, new in renames:
            args += ["--rename-section", f"{old}={new}"]
        if local_syms:
            syms = os.path.join(tmp, "syms")
            with open(syms, "w") as f:
                f.writelines(f"{s} {tag}.{s}\n" for s in local_syms)
            args += ["--redefine-syms", syms]
        subprocess.run(args + [patched, dst], check=True)
    done.append(f"{len(renames)} sections and {len(local_syms)} local symbols tagged .{tag}")
    return done


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("asm", help="gather llc's literal pools into one .literal section")
    a.add_argument("src")
    a.add_argument("dst")
    o = sub.add_parser("obj", help="mend an llvm-mc object for mpy_ld")
    o.add_argument("src")
    o.add_argument("dst")
    o.add_argument("--tag", help="unique name of this object (default: its file name)")
    o.add_argument("--objcopy", default=os.environ.get("LLVM_OBJCOPY", "llvm-objcopy-22"))
    o.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    try:
        if args.cmd == "asm":
            with open(args.src) as f:
                text = gather_literals(f.read())
            with open(args.dst, "w") as f:
                f.write(text)
        else:
            tag = args.tag or re.sub(r"\W", "_", os.path.basename(args.src).split(".")[0])
            for line in fix_object(args.src, args.dst, tag, args.objcopy):
                if args.verbose:
                    print(f"{args.src}: {line}")
    except FixupError as e:
        print(f"xtensa_llvm_fixup: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
