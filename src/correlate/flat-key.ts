/**
 * A key built by concatenation, flattened before a table keeps it.
 *
 * V8 represents `${a}|${b}|${c}` as a tree of rope nodes and the parts; a
 * Map that keeps the key keeps the tree. Reading a character flattens the
 * rope into one string, and the garbage collector then drops the nodes: a
 * 4-tuple key held in a Map costs about 95 bytes flat against 220 as a
 * rope (measured with 200k keys, node 20). Only for keys a table retains;
 * a key used for one lookup is garbage either way.
 */
export function flatKey(key: string): string {
  key.charCodeAt(0);
  return key;
}
