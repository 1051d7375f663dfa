/** Minimal argv parsing: positionals and --flags (with values or boolean). Pure. */
export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(argv: readonly string[], booleanFlags: readonly string[] = ['help', 'retry', 'json']): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h') {
      flags.help = true;
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else {
        const name = a.slice(2);
        const next = argv[i + 1];
        if (booleanFlags.includes(name) || next === undefined || next.startsWith('--')) flags[name] = true;
        else {
          flags[name] = next;
          i++;
        }
      }
    } else positionals.push(a);
  }
  return { positionals, flags };
}

export class UsageError extends Error {
  readonly code = 'USAGE';
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

export function requireFlag(args: ParsedArgs, name: string): string {
  const v = flag(args, name);
  if (v === undefined || v.trim() === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** A --flag holding a calendar date (YYYY-MM-DD), or undefined when absent. */
export function dateFlag(args: ParsedArgs, name: string): string | undefined {
  const v = flag(args, name);
  if (v !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new UsageError(`--${name} must be a date like 2026-01-01`);
  return v;
}
