// Cutting long decoded audio for models with a 30 s window, and joining their answers.
//
// Cuts: chunks are of about equal length; each cut is the middle of the quietest 100 ms within
// CUT_SEARCH_SEC around its target, never past the 30 s limit (a pause between words,
// not the middle of one), and neighbouring
// chunks overlap by OVERLAP_SEC around that point, so a word the cut still touches is
// whole in at least one of them. Joining: the words the two transcripts share at the
// seam (the longest run that ends one and starts the next, within what the overlap can
// hold) are kept once. Segment times are the seams (the middle of each overlap), so
// segments never overlap and their times are the decoded audio's. Pure functions.

export const CHUNK_MAX_SEC = 30;
/** Total overlap of two neighbouring chunks, centred on the cut. */
export const OVERLAP_SEC = 1;
/** The window around each balanced target in which a cut looks for a pause. */
export const CUT_SEARCH_SEC = 8;
// 100 ms: a pause between words or sentences is quiet for that long, the closure of a stop
// consonant inside a word (as quiet, after a lossy codec) is not.
const FRAME_SEC = 0.1;
const HOP_SEC = 0.01;

export interface ChunkPlan {
  /** First sample of the chunk (inclusive). */
  start: number;
  /** Last sample + 1. */
  end: number;
  /** Where this chunk's own part begins and ends (the seams), for segment times. */
  ownStart: number;
  ownEnd: number;
}

export interface PlanOptions {
  maxSec?: number;
  overlapSec?: number;
  searchSec?: number;
}

/** Sum of squares over a frame (the quietest frame wins; no need for a root). */
function frameEnergy(s: Int16Array, from: number, len: number): number {
  let e = 0;
  const to = Math.min(s.length, from + len);
  for (let i = from; i < to; i++) e += s[i]! * s[i]!;
  return e;
}

/** Plans chunks of at most maxSec, cut at low-energy points, overlapping by overlapSec. */
export function planChunks(samples: Int16Array, sampleRate: number, opts: PlanOptions = {}): ChunkPlan[] {
  const max = Math.floor((opts.maxSec ?? CHUNK_MAX_SEC) * sampleRate);
  const half = Math.floor(((opts.overlapSec ?? OVERLAP_SEC) * sampleRate) / 2);
  const search = Math.floor((opts.searchSec ?? CUT_SEARCH_SEC) * sampleRate);
  const frame = Math.max(1, Math.round(FRAME_SEC * sampleRate));
  const hop = Math.max(1, Math.round(HOP_SEC * sampleRate));
  const total = samples.length;
  if (max <= 2 * half + frame) throw new Error('chunk length too small for the overlap');
  const plans: ChunkPlan[] = [];
  let start = 0;
  let ownStart = 0;
  while (total - start > max) {
    // Balanced chunks (not 30 s + a 2 s tail: very short clips make audio models invent
    // words): aim at an equal share of what is left, leaving room to move to a pause.
    const usable = max - 2 * half - Math.floor(search / 2);
    const remaining = total - ownStart;
    const target = ownStart + Math.floor(remaining / Math.max(1, Math.ceil(remaining / usable)));
    // The cut c must leave the chunk [start, c + half) within max samples.
    const latest = Math.min(start + max - half - frame, target + Math.floor(search / 2));
    const earliest = Math.max(ownStart + half + frame, target - Math.floor(search / 2));
    let best = latest;
    let bestEnergy = Number.POSITIVE_INFINITY;
    // Closest to the target first: among equally quiet frames, the most balanced wins.
    for (let d = 0; target - d >= earliest || target + d <= latest; d += hop) {
      for (const f of [target + d, target - d]) {
        if (f < earliest || f > latest) continue;
        const e = frameEnergy(samples, f, frame);
        if (e < bestEnergy) {
          bestEnergy = e;
          best = f;
        }
      }
    }
    const cut = best + Math.floor(frame / 2);
    plans.push({ start, end: cut + half, ownStart, ownEnd: cut });
    start = cut - half;
    ownStart = cut;
  }
  plans.push({ start, end: total, ownStart, ownEnd: total });
  return plans;
}

/** Words compared case- and punctuation-blind. */
export function normalizeWord(w: string): string {
  return w.toLowerCase().replace(/[^\p{L}\p{N}']+/gu, '');
}

/**
 * How many leading words of `next` repeat the trailing words of `prev` (the overlap
 * transcribed twice). Only runs up to `maxWords` are considered, so a genuine repetition
 * further away is never dropped.
 */
export function seamOverlap(prev: readonly string[], next: readonly string[], maxWords: number): number {
  const p = prev.map(normalizeWord);
  const n = next.map(normalizeWord);
  for (let k = Math.min(maxWords, p.length, n.length); k > 0; k--) {
    let same = true;
    for (let i = 0; i < k && same; i++) same = p[p.length - k + i] === n[i] && n[i] !== '';
    if (same) return k;
  }
  return 0;
}

/** Words the overlap of two chunks can hold, generously (fast speech is ~4 words/s). */
export function maxSeamWords(overlapSec = OVERLAP_SEC): number {
  return Math.max(3, Math.ceil(overlapSec * 5) + 2);
}
