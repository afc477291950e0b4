/**
 * pahole's language names for --lang / --lang_exclude (dwarves.c languages[] and
 * lang__str2int): DW_LANG_* codes by their lower-case name, "asm" for DW_LANG_Mips_Assembler.
 */
const LANGUAGES: Readonly<Record<string, number>> = {
  c89: 0x01, c: 0x02, ada83: 0x03, 'c++': 0x04, cobol74: 0x05, cobol85: 0x06, fortran77: 0x07, fortran90: 0x08,
  pascal83: 0x09, modula2: 0x0a, java: 0x0b, c99: 0x0c, ada95: 0x0d, fortran95: 0x0e, pli: 0x0f, objc: 0x10,
  'objc++': 0x11, upc: 0x12, d: 0x13, python: 0x14, opencl: 0x15, go: 0x16, modula3: 0x17, haskell: 0x18,
  'c++03': 0x19, 'c++11': 0x1a, ocaml: 0x1b, rust: 0x1c, c11: 0x1d, swift: 0x1e, julia: 0x1f, dylan: 0x20,
  'c++14': 0x21, fortran03: 0x22, fortran08: 0x23, renderscript: 0x24, bliss: 0x25, asm: 0x8001,
};

/** languages__parse: the codes of a comma list, or the first unknown name. */
export function parseLanguages(list: string): { ids: Set<number> } | { unknown: string } {
  const ids = new Set<number>();
  for (const name of list.split(',')) {
    const id = LANGUAGES[name.toLowerCase()];
    if (id === undefined) return { unknown: name };
    ids.add(id);
  }
  return { ids };
}
