/** kernel7Btf (lib/pipeline) on a linked module, against resolve_btfids 7.x's outputs for it. */
import { expect } from 'vitest';
import { Btf } from '../../lib/btf/btf.js';
import { scanBtfIds } from '../../lib/btfids/index.js';
import { parseElf, type ElfFile } from '../../lib/elf/index.js';
import { kernel7Btf } from '../../lib/pipeline/kernel7.js';
import { pipelineProfile, type ProfileName } from '../../lib/pipeline/profile.js';
import { expectSame, toolRun } from './reference.js';

/** Lines the tool prints while writing its files (the resolve-btfids command's part, not kernel7Btf's). */
const writerLine = (l: string): boolean => l.startsWith('Dumped ') || l === 'bswap_32 .BTF_ids data from host to target endianness';

export interface Kernel7Case {
  /** Fixture stem: the tool's outputs are `<name>.<variant>.{BTF,BTF.base,BTF_ids,stderr}`. */
  name: string;
  ko: Uint8Array;
  /** pahole's BTF for the module (gen-btf.sh's --btf input). */
  btfOf: (elf: ElfFile) => Uint8Array;
  vmlinux: Btf;
  variant: 'distill' | 'nodistill';
  /** The -v level the tool ran with. */
  verbose: number;
  /** Whose resolve_btfids made the fixtures (default 7.2). */
  pipeline?: ProfileName;
  /** Whether the tool wrote a file (default: always); a module without .BTF_ids gets no X.BTF_ids. */
  wrote?: (file: string) => boolean;
  /** A fixture's bytes, by file name. */
  bytes: (file: string) => Uint8Array;
  /** A fixture's text, by file name. */
  text: (file: string) => string;
}

/** Raw .BTF, .BTF.base, .BTF_ids and the printed lines equal the tool's. */
export function expectKernel7BtfAsTool(c: Kernel7Case): void {
  const elf = parseElf(c.ko, { file: c.name });
  const scan = scanBtfIds(elf, { abi: 7, verbose: c.verbose });
  const input = Btf.parse(c.btfOf(elf), { base: c.vmlinux });
  const r = kernel7Btf(elf, scan, input, c.vmlinux, { profile: pipelineProfile(c.pipeline ?? '7.2'), distill: c.variant === 'distill', verbose: c.verbose });
  const out = `${c.name}.${c.variant}`;
  expectSame(`${c.name} .BTF`, r.btf, c.bytes(`${out}.BTF`));
  if (c.variant === 'distill') expectSame(`${c.name} .BTF.base`, r.btfBase, c.bytes(`${out}.BTF.base`));
  else expect(r.btfBase).toBeUndefined();
  if (c.wrote?.(`${out}.BTF_ids`) ?? true) expectSame(`${c.name} .BTF_ids`, r.btfIds, c.bytes(`${out}.BTF_ids`));
  else expect(r.btfIds).toBeUndefined();
  const printed = [...scan.diagnostics, ...r.diagnostics].filter((d) => d.extension !== true).map((d) => `${d.message}\n`).join('');
  const ref = toolRun(c.text(`${out}.stderr`), `${out}.stderr`).stderr.split('\n').filter((l) => !writerLine(l)).join('\n');
  expect(printed).toBe(ref);
}
