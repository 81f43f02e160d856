/**
 * Hand-built Ethernet frames for BPF_PROG_TEST_RUN: IPv4 TCP, IPv6 UDP and
 * VLAN-tagged IPv4 UDP, with correct lengths (checksums are not checked by
 * the programs under test and are left zero).
 */

const MAC_DST = [0x02, 0, 0, 0, 0, 1];
const MAC_SRC = [0x02, 0, 0, 0, 0, 2];

function ethernet(etherType: number, vlanIds: readonly number[] = []): number[] {
  const bytes = [...MAC_DST, ...MAC_SRC];
  vlanIds.forEach((id, index) => {
    // Outer tag 802.1ad when there are two, 802.1Q otherwise.
    const tpid = vlanIds.length === 2 && index === 0 ? 0x88a8 : 0x8100;
    bytes.push(tpid >> 8, tpid & 0xff, (id >> 8) & 0x0f, id & 0xff);
  });
  bytes.push(etherType >> 8, etherType & 0xff);
  return bytes;
}

function ipv4(proto: number, payloadLength: number, src = [10, 0, 0, 1], dst = [10, 0, 0, 2]): number[] {
  const total = 20 + payloadLength;
  return [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, ...src, ...dst];
}

function ipv6(nextHeader: number, payloadLength: number): number[] {
  const src = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const dst = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  return [0x60, 0, 0, 0, payloadLength >> 8, payloadLength & 0xff, nextHeader, 64, ...src, ...dst];
}

function tcp(sport: number, dport: number, flags: number): number[] {
  return [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0];
}

function udp(sport: number, dport: number, payloadLength: number): number[] {
  const length = 8 + payloadLength;
  return [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, length >> 8, length & 0xff, 0, 0];
}

const payload = (length: number) => new Array<number>(length).fill(0x61);

export function ipv4TcpFrame(payloadLength = 64): Buffer {
  return Buffer.from([...ethernet(0x0800), ...ipv4(6, 20 + payloadLength), ...tcp(40000, 443, 0x18), ...payload(payloadLength)]);
}

export function ipv6UdpFrame(payloadLength = 64): Buffer {
  return Buffer.from([...ethernet(0x86dd), ...ipv6(17, 8 + payloadLength), ...udp(40000, 4000, payloadLength), ...payload(payloadLength)]);
}

export function vlanUdpFrame(payloadLength = 64): Buffer {
  return Buffer.from([...ethernet(0x0800, [100, 200]), ...ipv4(17, 8 + payloadLength), ...udp(40000, 4000, payloadLength), ...payload(payloadLength)]);
}
