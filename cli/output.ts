/** The only writers to stdout. A closed pipe (`modbtf dump ... | head`) ends quietly. */
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

export function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}

/** Writes chunks as they come, waiting for the pipe to drain (a dump of vmlinux is ~10 MB). */
export async function writeChunks(chunks: Iterable<string | Uint8Array>): Promise<void> {
  for (const c of chunks) if (!process.stdout.write(c)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
}
