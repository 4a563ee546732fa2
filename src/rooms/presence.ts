/**
 * Who is present in the room now, kept incrementally: each user's count of live paths (subscribed room sockets,
 * plus one for a user object with a subscribed session). Built when the object starts, from the sockets and the
 * attached rows that survived hibernation, so joining and leaving never walk every socket.
 */
export class Presence {
  private readonly counts = new Map<string, number>();

  constructor(livePaths: Iterable<string>) {
    for (const userId of livePaths) this.counts.set(userId, (this.counts.get(userId) ?? 0) + 1);
  }

  private map(): Map<string, number> {
    return this.counts;
  }

  /** Adds a live path; true when the user just became present. */
  add(userId: string): boolean {
    const count = this.map().get(userId) ?? 0;
    this.map().set(userId, count + 1);
    return count === 0;
  }

  /** Removes a live path; true when the user just stopped being present. */
  remove(userId: string): boolean {
    const count = this.map().get(userId) ?? 0;
    if (count <= 1) {
      this.map().delete(userId);
      return count === 1;
    }
    this.map().set(userId, count - 1);
    return false;
  }

  /** Forgets every path of a user; true when they were present. */
  clear(userId: string): boolean {
    return this.map().delete(userId);
  }

  has(userId: string): boolean {
    return this.map().has(userId);
  }

  get size(): number {
    return this.map().size;
  }
}
