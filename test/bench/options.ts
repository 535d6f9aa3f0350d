/**
 * The command-line options of a benchmark: `--name <positive integer>` pairs over defaults. A
 * misspelt name or a value that is not a positive integer is refused with the pair it was given.
 */
export function parseIntegerOptions<T extends { [K in keyof T]: number }>(
  args: readonly string[],
  defaults: T,
  names: Readonly<Record<string, keyof T>>,
): T {
  const options = { ...defaults };
  for (let i = 0; i < args.length; i += 2) {
    const key = names[args[i] ?? ''];
    if (key === undefined) throw new RangeError(`unknown option ${args[i]}`);
    const value = Number(args[i + 1]);
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`option ${args[i]} needs a positive integer, not ${args[i + 1]}`);
    options[key] = value as T[keyof T];
  }
  return options;
}
