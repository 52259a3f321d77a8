// Word-level alignment of two transcripts for the A/B side-by-side view: a minimum-edit
// (Levenshtein) alignment over normalised words gives the marked differences and the
// word error rate of a hypothesis against a reference, WER = (S + D + I) / N(reference).
// Quadratic, so inputs are capped at MAX_WORDS words each (the view says when).
export const MAX_WORDS = 1500;

export type DiffOp =
  | { op: 'equal'; ref: string; hyp: string }
  | { op: 'substitute'; ref: string; hyp: string }
  | { op: 'delete'; ref: string }
  | { op: 'insert'; hyp: string };

/** Words as displayed (original spelling) and as compared (lower case, no punctuation). */
export function words(text: string): { shown: string[]; norm: string[] } {
  const shown = text.split(/\s+/).filter(Boolean);
  const norm = shown.map((w) => w.toLowerCase().replace(/[^\p{L}\p{N}']+/gu, ''));
  const keep = norm.map((n) => n !== '');
  return { shown: shown.filter((_, i) => keep[i]), norm: norm.filter((_, i) => keep[i]) };
}

export interface Alignment {
  ops: DiffOp[];
  substitutions: number;
  deletions: number;
  insertions: number;
  referenceWords: number;
  /** null when the reference is empty. */
  wer: number | null;
  truncated: boolean;
}

export function align(reference: string, hypothesis: string): Alignment {
  const r0 = words(reference);
  const h0 = words(hypothesis);
  const truncated = r0.norm.length > MAX_WORDS || h0.norm.length > MAX_WORDS;
  const R = r0.norm.slice(0, MAX_WORDS);
  const H = h0.norm.slice(0, MAX_WORDS);
  const n = R.length;
  const m = H.length;
  const w = m + 1;
  const d = new Uint32Array((n + 1) * w);
  for (let i = 0; i <= n; i++) d[i * w] = i;
  for (let j = 0; j <= m; j++) d[j] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const sub = d[(i - 1) * w + j - 1]! + (R[i - 1] === H[j - 1] ? 0 : 1);
      const del = d[(i - 1) * w + j]! + 1;
      const ins = d[i * w + j - 1]! + 1;
      d[i * w + j] = Math.min(sub, del, ins);
    }
  }
  const ops: DiffOp[] = [];
  let S = 0;
  let D = 0;
  let I = 0;
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const here = d[i * w + j]!;
    if (i > 0 && j > 0 && here === d[(i - 1) * w + j - 1]! + (R[i - 1] === H[j - 1] ? 0 : 1)) {
      const same = R[i - 1] === H[j - 1];
      ops.push({ op: same ? 'equal' : 'substitute', ref: r0.shown[i - 1]!, hyp: h0.shown[j - 1]! });
      if (!same) S++;
      i--;
      j--;
    } else if (i > 0 && here === d[(i - 1) * w + j]! + 1) {
      ops.push({ op: 'delete', ref: r0.shown[i - 1]! });
      D++;
      i--;
    } else {
      ops.push({ op: 'insert', hyp: h0.shown[j - 1]! });
      I++;
      j--;
    }
  }
  ops.reverse();
  return {
    ops,
    substitutions: S,
    deletions: D,
    insertions: I,
    referenceWords: n,
    wer: n === 0 ? null : (S + D + I) / n,
    truncated,
  };
}
