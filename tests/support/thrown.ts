/**
 * What `act` threw, so a test can assert the error's type and message together; fails the test when
 * `act` returns instead.
 */
export function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, but it returned');
}
