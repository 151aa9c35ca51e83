/** A start that cannot go on, for a reason the operator can fix; the CLI prints its message and exits 1. */
export class StartupError extends Error {}
