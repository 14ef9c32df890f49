import { PostPacer } from '../../src/slack/post-pacer';

/** A pacer whose waits are recorded instead of slept. */
function pacer(intervalMs = 1_000) {
  const waits: number[] = [];
  const paced = new PostPacer(intervalMs, async (ms) => {
    waits.push(ms);
  });
  return { paced, waits };
}

describe('PostPacer', () => {
  test('posts to one channel take consecutive slots, reserved before they wait; another channel waits for none', async () => {
    // Prepare
    const { paced, waits } = pacer();
    // Act: three posts to one channel at once, then one to another channel.
    await Promise.all([paced.turn('C0ONE'), paced.turn('C0ONE'), paced.turn('C0ONE')]);
    await paced.turn('C0OTHER');
    // Assess: the first goes at once, the next two a slot and two slots later; the other channel's at once.
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThan(900);
    expect(waits[0]).toBeLessThanOrEqual(1_000);
    expect(waits[1]).toBeGreaterThan(1_900);
    expect(waits[1]).toBeLessThanOrEqual(2_000);
  });

  test('a wait Slack asked for holds its channel, or every channel when it names none', async () => {
    // Prepare
    const { paced, waits } = pacer();
    // Act
    paced.holdUntil(Date.now() + 5_000, 'C0ONE');
    await paced.turn('C0ONE');
    await paced.turn('C0OTHER');
    paced.holdUntil(Date.now() + 3_000);
    await paced.turn('C0THIRD');
    // Assess
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThan(4_900);
    expect(waits[1]).toBeGreaterThan(2_900);
  });
});
