export * from './constants.js';
export { ElfFile, isElf, parseElf, type ParseElfOptions } from './file.js';
export type { ElfHeader } from './header.js';
export type { ElfSection } from './sections.js';
export type { ElfSymbol } from './symbols.js';
