/** What a bare `-` on the command line becomes (yargs would drop it). */
export const STDIN_ARG = '/dev/stdin';
