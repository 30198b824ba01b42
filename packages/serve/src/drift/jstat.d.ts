// The part of jstat (no bundled types) that the drift tests use.
declare module 'jstat' {
  export const jStat: {
    chisquare: { cdf(x: number, degreesOfFreedom: number): number };
  };
}
