/** Types for scripts/e2e-lib/debian.mjs (test/unit/e2e-debian.test.ts imports it under strict TypeScript). */
export interface PolicyVersion { version: string; priority: number; sources: string[] }
export function parsePolicy(text: string): PolicyVersion[];
export function archiveHas(table: PolicyVersion[], version: string): { where: 'archive' } | { where: null; why: string };
export function shortOf(version: string): string;
export interface Release { major: number; minor: number }
export function releaseOf(s: string): Release;
export function newerRelease(a: Release, b: Release): boolean;
export function debFileName(name: string, version: string, arch: string): string;
export function headersDependency(showText: string): { abi: string; version: string } | undefined;
