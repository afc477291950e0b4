export { locateObjcopy, type ObjcopyTool, type ObjcopyFlavor, type LocateObjcopyOptions } from './locate.js';
export { rewriteBtfSections, objcopyArgs, type BtfSectionChange } from './sections.js';
export { writeFileAtomic, tempPathFor } from './atomic.js';
