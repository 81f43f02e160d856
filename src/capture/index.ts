/** Packet capture in user space: the --capture spec, pcap/pcapng files, frame parsing and comments. */
export { CaptureFilterError, parseCaptureSpec, parseFilter, encodeFilter, formatFilter, filterMatches, type CaptureSpec, type FilterTerm } from './filter.js';
export { PcapWriter, type PcapFormat, type PcapWriterOptions, type PcapWriterStats } from './pcap-writer.js';
export { frameTuple, type FrameTuple } from './frame.js';
export { packetAnnotator, type AnnotationSources } from './annotate.js';
