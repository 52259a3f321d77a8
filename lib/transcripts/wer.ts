// Word error rate between two transcripts, for the transcription A/B comparison.
//
//   WER(hypothesis, reference) = (substitutions + deletions + insertions) / reference words
//
// from a word-level Levenshtein alignment of the normalised texts (lower case, punctuation
// stripped, whitespace collapsed, ё → е). Agreement is 1 − WER, clamped to [0, 1]: a
// hypothesis with many insertions can have WER > 1, and "agrees less than not at all"
// means nothing on the ops page. It is not symmetric: the reference is the other text.
//
// O(n·m) time and O(min(n, m)) memory over integer word ids: a 10-minute call (~1,500
// words each side) is ~2 M cell updates, a few milliseconds.

/** Lower case, ё → е, punctuation and symbols removed (apostrophes join, others split), spaces collapsed. */
export function normalizeTranscript(text: string): string {
  return text
    .toLowerCase()
    .replaceAll('ё', 'е')
    .replace(/['’ʼ`]/g, '')
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The normalised words of a transcript. */
export function words(text: string): string[] {
  const n = normalizeTranscript(text);
  return n === '' ? [] : n.split(' ');
}

/** Word-level edit distance (substitutions + deletions + insertions). */
export function wordEditDistance(a: readonly string[], b: readonly string[]): number {
  // The shorter sequence is the row, so memory is O(min(n, m)).
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  if (short.length === 0) return long.length;
  const ids = new Map<string, number>();
  const id = (w: string) => {
    let v = ids.get(w);
    if (v === undefined) {
      v = ids.size;
      ids.set(w, v);
    }
    return v;
  };
  const s = Int32Array.from(short, id);
  const l = Int32Array.from(long, id);
  let prev = new Int32Array(s.length + 1);
  let cur = new Int32Array(s.length + 1);
  for (let j = 0; j <= s.length; j++) prev[j] = j;
  for (let i = 1; i <= l.length; i++) {
    cur[0] = i;
    const li = l[i - 1];
    for (let j = 1; j <= s.length; j++) {
      const sub = prev[j - 1]! + (s[j - 1] === li ? 0 : 1);
      const del = prev[j]! + 1;
      const ins = cur[j - 1]! + 1;
      cur[j] = Math.min(sub, del, ins);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[s.length]!;
}

/** WER of `hypothesis` against `reference`; 0 when both are empty, 1 when only the reference is. */
export function wordErrorRate(hypothesis: string, reference: string): number {
  const hyp = words(hypothesis);
  const ref = words(reference);
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1;
  return wordEditDistance(hyp, ref) / ref.length;
}

/** 1 − WER(text, reference), clamped to [0, 1] and rounded to 4 decimals for storage. */
export function agreement(text: string, reference: string): number {
  const a = 1 - wordErrorRate(text, reference);
  return Math.round(Math.min(1, Math.max(0, a)) * 10_000) / 10_000;
}

/** Words in the normalised transcript (what WER counts). */
export const wordCount = (text: string): number => words(text).length;
