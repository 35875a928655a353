/** The open SSE streams of this process, so shutdown can end them instead of waiting on them. */
export interface EventStreams {
  /** Registers a stream's close function; returns its removal. */
  add(close: () => void): () => void;
  closeAll(): void;
  readonly size: number;
}

export function createEventStreams(): EventStreams {
  const open = new Set<() => void>();
  return {
    add(close) {
      open.add(close);
      return () => void open.delete(close);
    },
    closeAll() {
      for (const close of [...open]) close();
      open.clear();
    },
    get size() {
      return open.size;
    },
  };
}
