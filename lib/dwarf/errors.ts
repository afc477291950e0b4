/**
 * DwarfFormatError construction with the context every DWARF failure carries: the file,
 * the section and the offset in it, and the DIE being read when there is one.
 */
import { DwarfFormatError, type ErrorContext } from '../errors.js';

export type DwarfErrorContext = { [K in keyof ErrorContext]?: ErrorContext[K] | undefined };

export function dwarfError(code: string, message: string, context: DwarfErrorContext = {}): DwarfFormatError {
  const clean: ErrorContext = {};
  if (context.file !== undefined) clean.file = context.file;
  if (context.section !== undefined) clean.section = context.section;
  if (context.offset !== undefined) clean.offset = context.offset;
  if (context.die !== undefined) clean.die = context.die;
  if (context.symbol !== undefined) clean.symbol = context.symbol;
  if (context.typeId !== undefined) clean.typeId = context.typeId;
  return new DwarfFormatError(code, message, clean);
}
