import { describe, expect, it } from 'vitest';
import { BtfIdsError } from '../../../lib/btfids/errors.js';
import { parseBtfIdSymbol } from '../../../lib/btfids/symbols.js';

function failure(name: string): { code: string; stderrText: string } {
  try {
    parseBtfIdSymbol(name);
  } catch (e: unknown) {
    if (e instanceof BtfIdsError) return { code: e.code, stderrText: e.stderrText };
    throw e;
  }
  throw new Error(`${name} parsed`);
}

describe('__BTF_ID__ symbol grammar (resolve_btfids 6.12)', () => {
  it('id kinds: the name ends at the last "__", the suffix is anything', () => {
    expect(parseBtfIdSymbol('__BTF_ID__struct__sk_buff__1')).toEqual({ type: 'id', kind: 'struct', name: 'sk_buff' });
    expect(parseBtfIdSymbol('__BTF_ID__union__u__2')).toEqual({ type: 'id', kind: 'union', name: 'u' });
    expect(parseBtfIdSymbol('__BTF_ID__typedef__pid_t__3')).toEqual({ type: 'id', kind: 'typedef', name: 'pid_t' });
    expect(parseBtfIdSymbol('__BTF_ID__func__bbr_init__10911159')).toEqual({ type: 'id', kind: 'func', name: 'bbr_init' });
    expect(parseBtfIdSymbol('__BTF_ID__func__a__b__5')).toEqual({ type: 'id', kind: 'func', name: 'a__b' });
    expect(parseBtfIdSymbol('__BTF_ID__func__trail___7')).toEqual({ type: 'id', kind: 'func', name: 'trail_' });
    expect(parseBtfIdSymbol('__BTF_ID__func__f__xyz')).toEqual({ type: 'id', kind: 'func', name: 'f' });
    expect(parseBtfIdSymbol('__BTF_ID__func____1')).toEqual({ type: 'id', kind: 'func', name: '' });
  });

  it('kinds are matched by prefix and two characters are skipped unchecked', () => {
    expect(parseBtfIdSymbol('__BTF_ID__structx__foo__1')).toEqual({ type: 'id', kind: 'struct', name: '_foo' });
    expect(parseBtfIdSymbol('__BTF_ID__funcs__bar__2')).toEqual({ type: 'id', kind: 'func', name: '_bar' });
    expect(parseBtfIdSymbol('__BTF_ID__funcXYbar__2')).toEqual({ type: 'id', kind: 'func', name: 'bar' });
  });

  it('sets: set8 is tested before set', () => {
    expect(parseBtfIdSymbol('__BTF_ID__set__fixture_set')).toEqual({ type: 'set', kind: 'set', name: 'fixture_set' });
    expect(parseBtfIdSymbol('__BTF_ID__set8__kfuncs')).toEqual({ type: 'set', kind: 'set8', name: 'kfuncs' });
    expect(parseBtfIdSymbol('__BTF_ID__set8x_y')).toEqual({ type: 'set', kind: 'set8', name: 'y' });
  });

  it('failures carry resolve_btfids\' texts', () => {
    expect(failure('__BTF_ID__enum__e__2')).toEqual({ code: 'BTFIDS_UNSUPPORTED_PREFIX', stderrText: 'FAILED unsupported prefix enum__e__2' });
    expect(failure('__BTF_ID__func__no_suffix')).toEqual({ code: 'BTFIDS_BAD_SYMBOL_NAME', stderrText: 'FAILED to parse symbol name: func__no_suffix' });
    expect(failure('__BTF_ID__func__')).toEqual({ code: 'BTFIDS_BAD_SYMBOL_NAME', stderrText: 'FAILED to parse symbol name: func__' });
    // No '_' at all: the C code reads before the string; reported as a parse failure.
    expect(failure('__BTF_ID__func__abc').code).toBe('BTFIDS_BAD_SYMBOL_NAME');
    expect(failure('__BTF_ID__func___x').code).toBe('BTFIDS_BAD_SYMBOL_NAME');
    expect(failure('__BTF_ID__set__')).toEqual({ code: 'BTFIDS_BAD_SET_NAME', stderrText: 'FAILED to parse set name: set__' });
    expect(failure('__BTF_ID__set8__')).toEqual({ code: 'BTFIDS_BAD_SET_NAME', stderrText: 'FAILED to parse set name: set8__' });
    expect(failure('__BTF_ID__setX')).toEqual({ code: 'BTFIDS_BAD_SET_NAME', stderrText: 'FAILED to parse set name: setX' });
  });
});
