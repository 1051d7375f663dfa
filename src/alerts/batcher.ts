/**
 * Group commit for hot single-row statements: calls made while a statement is
 * in flight wait and go together in the next one. Idle, a call goes at once
 * (next turn of the event loop); under load, one statement carries many rows,
 * so a worker delivering a thousand messages a second does not pay a database
 * round trip per message per step. Each caller still awaits its own row.
 */
export type Batched<I, O> = (key: string, item: I) => Promise<O | undefined>;

export function createBatcher<I, O>(run: (items: { key: string; item: I }[]) => Promise<Map<string, O>>, maxBatch = 500): Batched<I, O> {
  let queue: { key: string; item: I; resolve: (o: O | undefined) => void; reject: (e: unknown) => void }[] = [];
  let inFlight = false;
  let scheduled = false;

  const flush = async () => {
    scheduled = false;
    if (inFlight || queue.length === 0) return;
    inFlight = true;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    try {
      const out = await run(batch.map(({ key, item }) => ({ key, item })));
      for (const b of batch) b.resolve(out.get(b.key));
    } catch (error) {
      for (const b of batch) b.reject(error);
    } finally {
      inFlight = false;
      if (queue.length) schedule();
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => void flush());
  };
  return (key, item) =>
    new Promise<O | undefined>((resolve, reject) => {
      queue.push({ key, item, resolve, reject });
      if (!inFlight) schedule();
    });
}
