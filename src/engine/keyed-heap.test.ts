import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyedHeap, type HeapOrder } from './keyed-heap.ts';

function drain<T>(heap: KeyedHeap<T>): T[] {
  const values: T[] = [];
  for (let value = heap.pop(); value !== undefined; value = heap.pop()) values.push(value);
  return values;
}

describe('KeyedHeap', () => {
  it('pops a min-heap in ascending priority', () => {
    const heap = new KeyedHeap<string>('min');
    for (const [key, priority] of [
      ['a', 5],
      ['b', 1],
      ['c', 9],
      ['d', 3],
      ['e', 7],
    ] as const) {
      heap.upsert(key, priority, key);
    }
    assert.equal(heap.size, 5);
    assert.equal(heap.peek(), 'b');
    assert.equal(heap.peekKey(), 'b');
    assert.equal(heap.peekPriority(), 1);
    assert.deepEqual(drain(heap), ['b', 'd', 'a', 'e', 'c']);
    assert.equal(heap.size, 0);
  });

  it('pops a max-heap in descending priority', () => {
    const heap = new KeyedHeap<string>('max');
    heap.upsert('a', 5, 'a');
    heap.upsert('b', 1, 'b');
    heap.upsert('c', 9, 'c');
    heap.upsert('z', 0, 'z');
    assert.equal(heap.peekPriority(), 9);
    assert.equal(heap.priorityOf('z'), 0);
    assert.ok(Object.is(heap.priorityOf('z'), 0), 'a zero priority is reported as +0, not -0');
    assert.deepEqual(drain(heap), ['c', 'a', 'b', 'z']);
  });

  it('breaks priority ties by key in both orders', () => {
    for (const order of ['min', 'max'] as const) {
      const heap = new KeyedHeap<string>(order);
      for (const key of ['d', 'b', 'e', 'a', 'c']) heap.upsert(key, 10, key);
      assert.deepEqual(drain(heap), ['a', 'b', 'c', 'd', 'e'], order);
    }
  });

  it('upsert replaces the priority and value of an existing key, moving it either way', () => {
    const heap = new KeyedHeap<string>('min');
    for (let index = 0; index < 10; index++) heap.upsert(`k${index}`, index * 10, `v${index}`);
    heap.upsert('k9', -1, 'moved up');
    heap.upsert('k0', 1000, 'moved down');
    heap.upsert('k5', 50, 'same priority');
    assert.equal(heap.size, 10);
    assert.equal(heap.get('k5'), 'same priority');
    assert.equal(heap.priorityOf('k0'), 1000);
    const values = drain(heap);
    assert.equal(values[0], 'moved up');
    assert.equal(values[values.length - 1], 'moved down');
    assert.equal(values[5], 'same priority');
  });

  it('removes by key from the root, the middle and the last slot', () => {
    const heap = new KeyedHeap<number>('min');
    for (let index = 0; index < 20; index++) heap.upsert(`k${index}`, index, index);
    assert.equal(heap.remove('k0'), true);
    assert.equal(heap.remove('k7'), true);
    assert.equal(heap.remove('k19'), true);
    assert.equal(heap.remove('k7'), false);
    assert.equal(heap.remove('absent'), false);
    assert.equal(heap.has('k7'), false);
    assert.equal(heap.get('k7'), undefined);
    assert.equal(heap.priorityOf('k7'), undefined);
    assert.equal(heap.size, 17);
    assert.deepEqual(
      drain(heap),
      Array.from({ length: 20 }, (_, index) => index).filter((index) => ![0, 7, 19].includes(index)),
    );
  });

  it('is empty-safe', () => {
    const heap = new KeyedHeap<number>('max');
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.peek(), undefined);
    assert.equal(heap.peekKey(), undefined);
    assert.equal(heap.peekPriority(), undefined);
    assert.equal(heap.drainThrough(0, []), 0);
    heap.upsert('only', 1, 1);
    assert.equal(heap.remove('only'), true);
    assert.equal(heap.size, 0);
  });

  it('drainThrough pops through the limit, inclusive, in heap order', () => {
    const min = new KeyedHeap<number>('min');
    const max = new KeyedHeap<number>('max');
    for (const priority of [5, 1, 4, 2, 3, 6]) {
      min.upsert(`k${priority}`, priority, priority);
      max.upsert(`k${priority}`, priority, priority);
    }
    const out = [99];
    assert.equal(min.drainThrough(3, out), 3);
    assert.deepEqual(out, [99, 1, 2, 3]);
    assert.equal(min.drainThrough(3, out), 0);
    assert.equal(min.size, 3);
    const fromMax: number[] = [];
    assert.equal(max.drainThrough(4, fromMax), 3);
    assert.deepEqual(fromMax, [6, 5, 4]);
    assert.equal(max.peekPriority(), 3);
  });

  it('rejects NaN priorities', () => {
    const heap = new KeyedHeap<number>();
    assert.throws(() => heap.upsert('x', Number.NaN, 0), RangeError);
    assert.equal(heap.size, 0);
  });

  it('clear empties it and lists entries', () => {
    const heap = new KeyedHeap<number>('max');
    heap.upsert('a', 1, 10);
    heap.upsert('b', 2, 20);
    assert.deepEqual(
      [...heap.entries()].sort((x, y) => x[1] - y[1]),
      [
        ['a', 1, 10],
        ['b', 2, 20],
      ],
    );
    heap.clear();
    assert.equal(heap.size, 0);
    assert.equal(heap.has('a'), false);
    heap.upsert('a', 3, 30);
    assert.equal(heap.peek(), 30);
  });
});

type HeapOp =
  | { op: 'upsert'; key: string; priority: number }
  | { op: 'remove'; key: string }
  | { op: 'pop' }
  | { op: 'drain'; limit: number };

const keyArb = fc.integer({ min: 0, max: 30 }).map((index) => `k${index.toString().padStart(2, '0')}`);
// A narrow priority range makes ties, and so the key tie-break, common.
const priorityArb = fc.integer({ min: -6, max: 6 });
const heapOpArb: fc.Arbitrary<HeapOp> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('upsert' as const), key: keyArb, priority: priorityArb }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('pop' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('drain' as const), limit: priorityArb }) },
);

/** Checks the heap property slot by slot: `entries()` yields the backing array in index order. */
function assertHeapShape(heap: KeyedHeap<string>, order: HeapOrder): void {
  const slots = [...heap.entries()];
  for (let index = 1; index < slots.length; index++) {
    const [childKey, childPriority] = slots[index] as [string, number, string];
    const [parentKey, parentPriority] = slots[(index - 1) >> 1] as [string, number, string];
    const parentFirst =
      parentPriority === childPriority
        ? parentKey < childKey
        : order === 'min'
          ? parentPriority < childPriority
          : parentPriority > childPriority;
    assert.ok(parentFirst, `slot ${index} (${childKey}) comes before its parent (${parentKey})`);
  }
}

describe('KeyedHeap against a sorted array', () => {
  for (const order of ['min', 'max'] as const satisfies readonly HeapOrder[]) {
    it(`matches the model for random upsert/remove/pop/drain (${order})`, () => {
      fc.assert(
        fc.property(fc.array(heapOpArb, { maxLength: 200, size: 'max' }), (ops) => {
          const heap = new KeyedHeap<string>(order);
          // The model: entries kept sorted by heap order (priority, then key).
          let model: { key: string; priority: number }[] = [];
          const before = (a: { key: string; priority: number }, b: { key: string; priority: number }) =>
            a.priority !== b.priority
              ? order === 'min'
                ? a.priority - b.priority
                : b.priority - a.priority
              : a.key < b.key
                ? -1
                : 1;
          for (const step of ops) {
            switch (step.op) {
              case 'upsert':
                heap.upsert(step.key, step.priority, step.key);
                model = model.filter((entry) => entry.key !== step.key);
                model.push({ key: step.key, priority: step.priority });
                model.sort(before);
                break;
              case 'remove': {
                const present = model.some((entry) => entry.key === step.key);
                assert.equal(heap.remove(step.key), present);
                model = model.filter((entry) => entry.key !== step.key);
                break;
              }
              case 'pop':
                assert.equal(heap.pop(), model.shift()?.key);
                break;
              case 'drain': {
                const out: string[] = [];
                const passes = (priority: number) =>
                  order === 'min' ? priority <= step.limit : priority >= step.limit;
                const expected = model.filter((entry) => passes(entry.priority)).map((entry) => entry.key);
                assert.equal(heap.drainThrough(step.limit, out), expected.length);
                assert.deepEqual(out, expected);
                model = model.filter((entry) => !passes(entry.priority));
                break;
              }
            }
            assert.equal(heap.size, model.length);
            assertHeapShape(heap, order);
            assert.equal(heap.peekKey(), model[0]?.key);
            assert.equal(heap.peekPriority(), model[0]?.priority);
            for (const entry of model) assert.equal(heap.priorityOf(entry.key), entry.priority);
          }
          assert.deepEqual(
            drain(heap),
            model.map((entry) => entry.key),
          );
        }),
        { numRuns: 300 },
      );
    });
  }
});
