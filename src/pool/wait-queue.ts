/**
 * First in, first out, with O(1) take from the front (an array's shift() is O(n), and a queue may
 * hold 100,000 connections). Items are compacted away once the taken head is half the array.
 */
export class WaitQueue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The item `index` places behind the front (0: the front). */
  at(index: number): T | undefined {
    return this.#items[this.#head + index];
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The items, oldest first, as a copy (to walk while the queue changes). */
  snapshot(): T[] {
    return this.#items.slice(this.#head) as T[];
  }

  /** Remove every item (and return them, oldest first). */
  clear(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
