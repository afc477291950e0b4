export { locateObjcopy, objcopyChooser, elfTarget, describeTarget, binutilsPackage, type ObjcopyTool, type ObjcopyFlavor, type LocateObjcopyOptions, type ObjcopyChooser, type ElfTarget } from './locate.js';
export { rewriteBtfSections, objcopyArgs, type BtfSectionChange } from './sections.js';
export { writeFileAtomic, tempPathFor } from './atomic.js';
