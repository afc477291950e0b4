export { distill, type DistillOptions, type DistillResult } from './distill.js';
export { DistillError, type DistillErrorCode } from './errors.js';
