import type { CommandModule } from 'yargs';
import { checkCommand } from './check.js';
import { dedupCommand } from './dedup.js';
import { distillCommand } from './distill.js';
import { doctorCommand } from './doctor.js';
import { dumpCommand } from './dump.js';
import { finalizeCommand } from './finalize.js';
import { kbuildCommand } from './kbuild.js';
import { paholeCommand } from './pahole.js';
import { relocateCommand } from './relocate.js';
import { resolveBtfidsCommand } from './resolve-btfids.js';
import { retargetCommand } from './retarget.js';
import { setupCommand } from './setup.js';

/** Every command, in the order `modbtf --help` lists them. */
// Each command's argv type differs; yargs only needs them as commands of `object`.
export const all = [dumpCommand, distillCommand, dedupCommand, relocateCommand, checkCommand, finalizeCommand, retargetCommand, resolveBtfidsCommand, paholeCommand, kbuildCommand, setupCommand, doctorCommand] as unknown as CommandModule<object, object>[];
