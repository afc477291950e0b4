/** Types for scripts/lib/encode-flag-sets.mjs (test/golden/encode.test.ts imports it). */
export declare const FLAG_SETS: {
  kbuild72: string;
  kbuild125: string;
  plain: string;
  default: string;
  plusglobal: string;
  skips: string;
  genall: string;
  strict: string;
};
