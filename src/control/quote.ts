/** Printable, short: what of a client's bytes may be quoted back in an error. */
export function quote(text: string, max = 40): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}
