// The word error rate behind the transcription comparison's `agreement`: normalisation,
// the edit distance against hand-counted alignments, and the reference's direction.
import { describe, expect, it } from 'vitest';
import {
  agreement,
  normalizeTranscript,
  wordCount,
  wordEditDistance,
  wordErrorRate,
  words,
} from '../../lib/transcripts/wer.ts';

describe('normalizeTranscript', () => {
  it('lower-cases, strips punctuation, collapses spaces and maps ё to е', () => {
    expect(normalizeTranscript('  Алло!  Это   ЁЛКА, да?\n«Ещё» — раз…  ')).toBe('алло это елка да еще раз');
    expect(normalizeTranscript("Don't STOP - it's 5:30.")).toBe('dont stop its 5 30');
    expect(normalizeTranscript('...!?')).toBe('');
    expect(words('')).toEqual([]);
    expect(wordCount('Алло, это тест.')).toBe(3);
  });
});

describe('wordEditDistance', () => {
  it('counts substitutions, deletions and insertions', () => {
    expect(wordEditDistance([], [])).toBe(0);
    expect(wordEditDistance(['a'], [])).toBe(1);
    expect(wordEditDistance([], ['a', 'b'])).toBe(2);
    expect(wordEditDistance(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(0);
    expect(wordEditDistance(['a', 'x', 'c'], ['a', 'b', 'c'])).toBe(1); // one substitution
    expect(wordEditDistance(['a', 'c'], ['a', 'b', 'c'])).toBe(1); // one deletion
    expect(wordEditDistance(['a', 'b', 'b', 'c'], ['a', 'b', 'c'])).toBe(1); // one insertion
    // kitten → sitting, at word level: 2 substitutions + 1 insertion.
    expect(wordEditDistance('k i t t e n'.split(' '), 's i t t i n g'.split(' '))).toBe(3);
    // Symmetric, whichever side is shorter.
    expect(wordEditDistance(['x', 'y'], ['y', 'x', 'z', 'w'])).toBe(
      wordEditDistance(['y', 'x', 'z', 'w'], ['x', 'y']),
    );
  });

  it('matches a plain full-matrix Levenshtein on random word sequences', () => {
    const full = (a: string[], b: string[]) => {
      const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
      for (let j = 0; j <= b.length; j++) d[0]![j] = j;
      for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
          d[i]![j] = Math.min(
            d[i - 1]![j]! + 1,
            d[i]![j - 1]! + 1,
            d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
          );
      return d[a.length]![b.length]!;
    };
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const seq = () => Array.from({ length: rnd(12) }, () => 'abcd'[rnd(4)]!);
    for (let k = 0; k < 300; k++) {
      const a = seq();
      const b = seq();
      expect(wordEditDistance(a, b)).toBe(full(a, b));
    }
  });
});

describe('wordErrorRate and agreement', () => {
  it('divides by the reference length, so the direction matters', () => {
    // hypothesis 2 words, reference 4 words: 2 deletions / 4.
    expect(wordErrorRate('алло тест', 'алло это тест да')).toBe(0.5);
    // reversed: 2 insertions / 2 reference words.
    expect(wordErrorRate('алло это тест да', 'алло тест')).toBe(1);
    expect(agreement('алло тест', 'алло это тест да')).toBe(0.5);
    expect(agreement('алло это тест да', 'алло тест')).toBe(0);
  });

  it('ignores what normalisation removes', () => {
    expect(wordErrorRate('Алло, это ёлка!', 'алло это елка')).toBe(0);
    expect(agreement('Алло, это тест.', 'Алло, это тест!')).toBe(1);
  });

  it('handles empty transcripts and clamps agreement to [0, 1]', () => {
    expect(wordErrorRate('', '')).toBe(0);
    expect(wordErrorRate('что-то', '')).toBe(1);
    expect(wordErrorRate('', 'что-то')).toBe(1);
    expect(agreement('a b c d e f', 'x')).toBe(0); // WER 6
    expect(agreement('one two three', 'one two four')).toBe(0.6667);
  });

  it('is fast enough for an hour-long call', () => {
    const vocab = 'да нет алло это тест звонок оператор номер договор'.split(' ');
    const a = Array.from({ length: 9000 }, (_, i) => vocab[(i * 7) % vocab.length]!).join(' ');
    const b = Array.from(
      { length: 9000 },
      (_, i) => vocab[(i * 7 + (i % 13 === 0 ? 1 : 0)) % vocab.length]!,
    ).join(' ');
    const t0 = performance.now();
    const ag = agreement(a, b);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(ag).toBeGreaterThan(0.85);
    expect(ag).toBeLessThan(1);
  });
});
