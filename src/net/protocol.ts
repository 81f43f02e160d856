const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

/** tcp, udp, icmp, icmpv6, or the IP protocol number as text. */
export function protocolName(proto: number): string {
  return PROTOCOLS[proto] ?? String(proto);
}
