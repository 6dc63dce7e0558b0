/**
 * The map from normalised text back to the original (inspection.normalize.ts), kept as pieces
 * rather than per character: a run of ASCII copied as is is one piece, a cluster is one piece.
 */

/**
 * Piece k covers output [out[k], out[k + 1]) (the last piece runs to the end). A piece with
 * to[k] < 0 is linear — output o is input from[k] + (o − out[k]), one character; otherwise every
 * output character of the piece is the input span [from[k], to[k]).
 */
export interface OffsetMap {
  out: Int32Array;
  from: Int32Array;
  to: Int32Array;
  count: number;
}

/** Grows by doubling; appends a piece, merging a linear piece into a linear predecessor it continues. */
export class MapBuilder {
  out = new Int32Array(64);
  from = new Int32Array(64);
  to = new Int32Array(64);
  count = 0;
  /** Output length so far. */
  n = 0;

  linear(inputFrom: number, length: number): void {
    const k = this.count - 1;
    if (k >= 0 && this.to[k]! < 0 && this.from[k]! + (this.n - this.out[k]!) === inputFrom) {
      this.n += length;
      return;
    }
    this.piece(inputFrom, -1);
    this.n += length;
  }

  span(inputFrom: number, inputTo: number, length: number): void {
    const k = this.count - 1;
    if (k < 0 || this.to[k]! < 0 || this.from[k] !== inputFrom || this.to[k] !== inputTo)
      this.piece(inputFrom, inputTo);
    this.n += length;
  }

  private piece(from: number, to: number): void {
    if (this.count === this.out.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.out = grow(this.out);
      this.from = grow(this.from);
      this.to = grow(this.to);
    }
    this.out[this.count] = this.n;
    this.from[this.count] = from;
    this.to[this.count++] = to;
  }

  done(): OffsetMap {
    return { out: this.out, from: this.from, to: this.to, count: this.count };
  }
}

/** The piece holding output offset o. */
function pieceOf(map: OffsetMap, o: number): number {
  let lo = 0;
  let hi = map.count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (map.out[mid]! <= o) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function originalOf(map: OffsetMap, o: number): { start: number; end: number } {
  const k = pieceOf(map, o);
  if (map.to[k]! >= 0) return { start: map.from[k]!, end: map.to[k]! };
  const start = map.from[k]! + (o - map.out[k]!);
  return { start, end: start + 1 };
}

/** The per-character arrays of a map (for tests and tools; the engine uses originalSpan). */
export function expand(map: OffsetMap, length: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(length + 1);
  const end = new Int32Array(length + 1);
  for (let o = 0; o <= length; o++) {
    const at = originalOf(map, o);
    start[o] = at.start;
    end[o] = at.end;
  }
  return { start, end };
}
