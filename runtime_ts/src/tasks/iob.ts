/**
 * IOB2 tags -> entity spans: a port of `split_tag` and `decode_iob2` (runtime_py/mbja_runtime/iob.py),
 * transformers' `group_entities` rule.
 */
import type { Offset } from './results.js';

/** An entity over units `first`..`last` (inclusive) and its span. */
export interface RawEntity {
  type: string;
  start: number;
  end: number;
  first: number;
  last: number;
}

/**
 * ['B' | 'I', type]: `B-X` and `I-X` as written; any other label counts as `I-label`
 * (transformers' `get_tag`), so runs of an unprefixed label group.
 */
export function splitTag(tag: string): ['B' | 'I', string] {
  if (tag.startsWith('B-')) return ['B', tag.slice(2)];
  if (tag.startsWith('I-')) return ['I', tag.slice(2)];
  return ['I', tag];
}

/**
 * Groups tags into entities: a unit continues the open entity when its type is the entity's and it
 * is not a `B-`; otherwise it starts a new one. A null span closes any open entity. Entities whose
 * type is in `ignore` are dropped afterwards (so an `O` still closes the entity before it).
 */
export function decodeIob2(tags: readonly string[], spans: readonly Offset[], ignore: ReadonlySet<string>): RawEntity[] {
  const out: RawEntity[] = [];
  let current: RawEntity | null = null;
  for (let i = 0; i < tags.length; i++) {
    const span = spans[i];
    if (span === null) {
      current = null;
      continue;
    }
    const [bi, type] = splitTag(tags[i]);
    if (current !== null && bi === 'I' && current.type === type) {
      current.end = Math.max(current.end, span[1]);
      current.last = i;
      continue;
    }
    current = { type, start: span[0], end: span[1], first: i, last: i };
    out.push(current);
  }
  return out.filter((e) => !ignore.has(e.type));
}
