/**
 * Random tag expressions for the property tests of tags/ and store/ (a fixed seed: every run checks the
 * same expressions). `gen(depth)` nests up to `depth` levels of `!`, `&&` and `||` over `tags`.
 */
export function randomExpressions(seed: number, tags: readonly string[]): { rnd: () => number; gen: (depth: number) => string } {
  let state = seed;
  const rnd = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const gen = (depth: number): string => {
    const r = rnd();
    if (depth === 0 || r < 0.3) return tags[Math.floor(rnd() * tags.length)]!;
    if (r < 0.45) return `!(${gen(depth - 1)})`;
    return `(${gen(depth - 1)} ${r < 0.75 ? '&&' : '||'} ${gen(depth - 1)})`;
  };
  return { rnd, gen };
}
