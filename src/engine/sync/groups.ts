/**
 * Carries out work in groups: items submitted while a group is being carried out wait and
 * form the next one. Under load the groups grow by themselves (one journal transaction for
 * many files instead of one each); alone, an item waits only for the current turn to end.
 */
export class Groups<I, R> {
  private waiting: { item: I; settle: (result: PromiseSettledResult<R>) => void }[] = [];
  private draining = false;

  /** `run` returns one outcome per item, in order; if it throws, every item of its group fails with that. */
  constructor(private readonly run: (items: I[]) => Promise<PromiseSettledResult<R>[]>) {}

  submit(item: I): Promise<R> {
    const outcome = new Promise<PromiseSettledResult<R>>((settle) => this.waiting.push({ item, settle }));
    if (!this.draining) {
      this.draining = true;
      // The rest of this turn's items join the first group.
      setImmediate(() => void this.drain());
    }
    return outcome.then((r) => (r.status === 'fulfilled' ? r.value : Promise.reject(r.reason)));
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      let results: PromiseSettledResult<R>[];
      try {
        results = await this.run(group.map((g) => g.item));
      } catch (err) {
        results = group.map(() => ({ status: 'rejected', reason: err }));
      }
      group.forEach((g, i) => g.settle(results[i]!));
    }
    this.draining = false;
  }
}
