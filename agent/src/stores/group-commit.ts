/**
 * Group commit: the writes that arrive in one event-loop turn, or while the previous synced write is on its
 * way to disk, are written together in the next one. Each caller still resolves only after the write that
 * holds its operations was synced, so an acknowledgement never outruns the disk, and concurrent answers
 * share one fsync instead of queueing for one each.
 */
export class GroupCommit<Op> {
  private waiting: Array<{ ops: Op[]; resolve: () => void; reject: (error: unknown) => void }> = [];
  private draining = false;

  constructor(private readonly write: (ops: Op[]) => Promise<void>) {}

  submit(ops: Op[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject });
      if (this.draining) return;
      this.draining = true;
      // setImmediate, not a microtask: every request parsed in this turn's I/O phase joins the first group.
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      try {
        await this.write(group.flatMap((g) => g.ops));
        for (const g of group) g.resolve();
      } catch (error) {
        if (group.length === 1) {
          group[0]!.reject(error);
          continue;
        }
        // One caller's bad operation must not fail its neighbours: write each alone, errors to their owners.
        for (const g of group) await this.write(g.ops).then(g.resolve, g.reject);
      }
    }
    this.draining = false;
  }
}
