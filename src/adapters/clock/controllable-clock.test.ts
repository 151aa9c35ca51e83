import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClockBackwardsError, ClockError } from '../../application/ports.ts';
import { ControllableClock } from './controllable-clock.ts';

const T0 = Date.parse('2026-11-26T14:30:00Z');

/** A clock on a wall time the test moves by hand. */
function clockAt(wallMs: number): { clock: ControllableClock; wall: { ms: number } } {
  const wall = { ms: wallMs };
  return { clock: new ControllableClock(() => wall.ms), wall };
}

describe('ControllableClock', () => {
  it('reads the wall in real mode and stands still in manual mode', () => {
    const { clock, wall } = clockAt(T0);
    assert.equal(clock.nowMs(), T0);
    clock.set({ mode: 'manual', nowMs: T0 + 5_000 }, { backwards: false });
    wall.ms += 60_000;
    assert.equal(clock.nowMs(), T0 + 5_000);
    assert.equal(clock.speed, 0);
    clock.advance(1_500);
    assert.equal(clock.nowMs(), T0 + 6_500);
  });

  it('runs from a chosen time at a chosen speed, and advances like a manual clock', () => {
    const { clock, wall } = clockAt(T0);
    clock.set({ mode: 'running', nowMs: T0 - 86_400_000, speed: 60 }, { backwards: true });
    assert.equal(clock.nowMs(), T0 - 86_400_000);
    wall.ms += 1_000;
    assert.equal(clock.nowMs(), T0 - 86_400_000 + 60_000);
    clock.advance(10_000);
    assert.equal(clock.nowMs(), T0 - 86_400_000 + 70_000);
    assert.equal(clock.speed, 60);
  });

  it('continues a running clock from where it is when no time is given', () => {
    const { clock, wall } = clockAt(T0);
    clock.set({ mode: 'manual', nowMs: T0 + 3_600_000 }, { backwards: false });
    wall.ms += 5_000;
    clock.set({ mode: 'running' }, { backwards: false });
    assert.equal(clock.nowMs(), T0 + 3_600_000);
    wall.ms += 2_000;
    assert.equal(clock.nowMs(), T0 + 3_602_000);
  });

  it('refuses to go back unless told it may, and then changes nothing', () => {
    const { clock, wall } = clockAt(T0);
    clock.set({ mode: 'manual', nowMs: T0 + 3_600_000 }, { backwards: false });
    assert.throws(
      () => clock.set({ mode: 'manual', nowMs: T0 }, { backwards: false }),
      (error: Error) =>
        error instanceof ClockBackwardsError &&
        /the clock cannot go backwards: 2026-11-26T14:30:00Z \(1795703400\) is before now, 2026-11-26T15:30:00Z \(1795707000\)/.test(
          error.message,
        ) &&
        /reset the accounts .* or start on a fresh database/.test(error.message),
    );
    assert.throws(
      () => clock.set({ mode: 'real' }, { backwards: false }),
      (error: Error) =>
        error instanceof ClockBackwardsError &&
        /switching to real time would move it back/.test(error.message),
    );
    assert.equal(clock.mode, 'manual');
    assert.equal(clock.nowMs(), T0 + 3_600_000);
    clock.set({ mode: 'real' }, { backwards: true });
    assert.equal(clock.nowMs(), wall.ms);
    clock.set({ mode: 'manual', nowMs: T0 - 1_000 }, { backwards: true });
    assert.equal(clock.nowMs(), T0 - 1_000);
  });

  it('treats the current second as now, not the past', () => {
    const { clock } = clockAt(T0 + 700);
    clock.set({ mode: 'manual', nowMs: T0 }, { backwards: false });
    assert.equal(clock.nowMs(), T0 + 700);
  });

  it('refuses bad times and speeds, and any change while a replay drives it', () => {
    const { clock } = clockAt(T0);
    assert.throws(() => clock.set({ mode: 'manual', nowMs: -1 }, { backwards: true }), ClockError);
    assert.throws(() => clock.set({ mode: 'manual', nowMs: NaN }, { backwards: true }), ClockError);
    assert.throws(() => clock.set({ mode: 'running', speed: 0 }, { backwards: true }), /speed must be/);
    assert.throws(() => clock.set({ mode: 'running', speed: 2e6 }, { backwards: true }), /speed must be/);
    assert.throws(() => clock.advance(1_000), /real mode/);
    assert.equal(clock.mode, 'real');
    clock.setReplay(T0 - 10_000);
    clock.setReplay(T0 - 20_000);
    assert.equal(clock.nowMs(), T0 - 10_000);
    assert.throws(() => clock.set({ mode: 'real' }, { backwards: true }), /follows the replay feed/);
    assert.throws(() => clock.advance(1_000), /follows the replay feed/);
  });

  it('restores a snapshot to the same timeline; a running clock ran on while it was stored', () => {
    const { clock, wall } = clockAt(T0);
    clock.set({ mode: 'running', nowMs: T0 - 3_600_000, speed: 2 }, { backwards: true });
    const snapshot = clock.snapshot();
    wall.ms += 10_000;
    const restored = new ControllableClock(() => wall.ms);
    restored.restore(snapshot);
    assert.equal(restored.mode, 'running');
    assert.equal(restored.nowMs(), T0 - 3_600_000 + 20_000);
    const manual = clockAt(T0).clock;
    manual.set({ mode: 'manual', nowMs: T0 + 1 }, { backwards: false });
    const again = clockAt(T0 + 99_000).clock;
    again.restore(manual.snapshot());
    assert.equal(again.nowMs(), T0 + 1);
  });
});
